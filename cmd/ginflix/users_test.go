package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ginflix/ginflix/password"
	"github.com/ginflix/ginflix/sqlite"
)

func TestUsersCommand(t *testing.T) {
	data := t.TempDir()
	runUsersCmd := func(env map[string]string, stdin string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(t.Context(), append([]string{"ginflix", "users"}, args...), envOf(env), strings.NewReader(stdin), &out, &errOut)
		return out.String(), err
	}
	out, err := runUsersCmd(map[string]string{"GINFLIX_USER_PASSWORD": "a long admin password"}, "", "create", "--admin", "--name", "Ada", "--data", data, "ada@example.org")
	if err != nil || !strings.Contains(out, "ada@example.org") || !strings.Contains(out, "ginflix-admin") {
		t.Fatalf("create admin: %v %q", err, out)
	}
	// The password from standard input, as a script pipes it.
	if _, err := runUsersCmd(map[string]string{"GINFLIX_DATA_DIR": data}, "a long viewer password\n", "create", "bob@example.org"); err != nil {
		t.Fatalf("create from stdin: %v", err)
	}
	if _, err := runUsersCmd(map[string]string{"GINFLIX_USER_PASSWORD": "a long admin password"}, "", "create", "--data", data, "ADA@example.org"); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := runUsersCmd(map[string]string{"GINFLIX_USER_PASSWORD": "short"}, "", "create", "--data", data, "c@example.org"); err == nil {
		t.Fatal("a weak password was accepted")
	}
	if _, err := runUsersCmd(nil, "", "create", "--data", data, "d@example.org"); err == nil {
		t.Fatal("no password at all was accepted")
	}
	out, err = runUsersCmd(nil, "", "list", "--data", data)
	if err != nil || !strings.Contains(out, "ada@example.org") || !strings.Contains(out, "bob@example.org") || strings.Contains(out, "argon2") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	db, err := sqlite.Open(t.Context(), filepath.Join(data, "ginflix.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByEmail(t.Context(), "bob@example.org")
	if err != nil || !password.Check("a long viewer password", u.PasswordHash) || len(u.Roles) != 1 || u.Roles[0] != "ginflix-user" {
		t.Fatalf("bob: %+v %v", u, err)
	}
	if _, err := runUsersCmd(nil, "", "frobnicate"); err == nil {
		t.Fatal("unknown users command accepted")
	}
}
