package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/password"
)

const usersUsage = `Usage:
  ginflix users create [--admin] [--name NAME] [--password-file FILE] EMAIL
  ginflix users list

Manages the accounts of the built-in identity provider, in the database
that GINFLIX_DATA_DIR (--data) or GINFLIX_MONGODB_URI (--mongodb-uri) names.
The password comes from --password-file, else GINFLIX_USER_PASSWORD, else
a prompt on the terminal, else the first line of standard input.
`

// storeSettings are the serve settings a users command needs.
var storeSettings = []string{"data", "mongodb-uri", "mongodb-database", "admin-role", "viewer-role", "log-level", "log-format"}

func runUsers(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return errors.New("users: say create or list")
	}
	cmd, args := args[0], args[1:]
	cfg := defaultConfig()
	fs := flag.NewFlagSet("ginflix users "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range cfg.settings() {
		if slices.Contains(storeSettings, s.flag) {
			if _, err := s.fromEnv(getenv); err != nil {
				return err
			}
			fs.Var(s.value, s.flag, s.usage)
		}
	}
	admin := fs.Bool("admin", false, "give the account the admin role")
	name := fs.String("name", "", "display name")
	pwFile := fs.String("password-file", "", "read the password from this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usersUsage)
			return nil
		}
		return fmt.Errorf("%w\n%s", err, usersUsage)
	}
	log := newLogger(cfg, stderr)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()

	switch cmd {
	case "create":
		if fs.NArg() != 1 {
			return fmt.Errorf("users create takes one email\n%s", usersUsage)
		}
		pw, err := readPassword(*pwFile, getenv, stdin, stderr)
		if err != nil {
			return err
		}
		hash, err := password.Hash(pw)
		if err != nil {
			return err
		}
		roles := []string{cfg.ViewerRole}
		if *admin {
			roles = append(roles, cfg.AdminRole)
		}
		u := &ginflix.User{Email: fs.Arg(0), Name: *name, Roles: roles, PasswordHash: hash}
		if err := store.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("users create: %s", ginflix.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "Created %s (%s) with roles %s.\n", u.Email, u.ID, strings.Join(u.Roles, ", "))
		return nil
	case "list":
		users, err := store.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLES\tDISABLED")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\n", u.ID, u.Email, u.Name, strings.Join(u.Roles, ","), u.Disabled)
		}
		return tw.Flush()
	default:
		fmt.Fprint(stderr, usersUsage)
		return fmt.Errorf("users: unknown command %q", cmd)
	}
}

// readPassword takes the password from a file, the environment, a
// terminal prompt (typed twice, not echoed) or standard input, in that order.
func readPassword(file string, getenv func(string) string, stdin io.Reader, stderr io.Writer) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	if pw := getenv("GINFLIX_USER_PASSWORD"); pw != "" {
		return pw, nil
	}
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stderr, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", errors.New("no password given: use --password-file, GINFLIX_USER_PASSWORD or standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
