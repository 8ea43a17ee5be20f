package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ginflix/ginflix/tus"
)

const demoUsage = `Usage:
  ginflix demo [flags]

Makes a handful of short sample clips with FFmpeg (test patterns and
tones: landscape, portrait, 4:3, one without sound) and imports them like
"ginflix import", to try Ginflix without videos of your own.

Flags (environment variable in brackets):
  --server URL             Ginflix's address [GINFLIX_SERVER] (default http://127.0.0.1:8080)
  --client-id ID           automation client [GINFLIX_AUTOMATION_CLIENT_ID]
  --client-secret-file F   file holding its secret [GINFLIX_AUTOMATION_CLIENT_SECRET,
                           or GINFLIX_AUTOMATION_CLIENT_SECRET_FILE]
  --duration D             length of each clip (default 6s)
  --ffmpeg PATH            FFmpeg executable [GINFLIX_FFMPEG] (default ffmpeg)
  --chunk-size SIZE        bytes per request (default 8MiB)
`

// demoClip is one sample: an FFmpeg lavfi video source, an optional
// audio source, and what the video is called.
type demoClip struct {
	file, title, description string
	tags                     []string
	video, audio             string
}

var demoClips = []demoClip{
	{
		file: "mire-720p.mp4", title: "Mire de test",
		description: "Mire 1280×720 animée avec un bip à 440 Hz : de quoi vérifier l’image, le son et leur synchronisation.",
		tags:        []string{"démo", "mire", "720p"},
		video:       "testsrc2=size=1280x720:rate=25", audio: "sine=frequency=440:sample_rate=48000",
	},
	{
		file: "barres-360p.mp4", title: "Barres de couleur",
		description: "Les barres SMPTE en 640×360, accompagnées d’un la à 1 kHz.",
		tags:        []string{"démo", "barres", "360p"},
		video:       "smptebars=size=640x360:rate=25", audio: "sine=frequency=1000:sample_rate=48000",
	},
	{
		file: "portrait.mp4", title: "Démo portrait",
		description: "Une vidéo verticale 720×1280, filmée comme au téléphone.",
		tags:        []string{"démo", "portrait", "vertical"},
		video:       "testsrc2=size=720x1280:rate=30", audio: "sine=frequency=660:sample_rate=48000",
	},
	{
		file: "muette.mp4", title: "Séquence muette",
		description: "Le jeu de la vie de Conway, sans piste sonore.",
		tags:        []string{"démo", "sans son"},
		video:       "life=size=854x480:rate=25:mold=10:ratio=0.12:death_color=#101028:life_color=#f0b030",
	},
	{
		file: "format-4-3.mp4", title: "Format 4:3 à l’ancienne",
		description: "Une mire 640×480, au format des téléviseurs d’antan, avec un bip grave.",
		tags:        []string{"démo", "4:3", "rétro"},
		video:       "testsrc=size=640x480:rate=25", audio: "sine=frequency=220:sample_rate=48000",
	},
}

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ginflix demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var r remote
	r.flags(fs, getenv)
	duration := fs.Duration("duration", 6*time.Second, "")
	ffmpegDefault := getenv("GINFLIX_FFMPEG")
	if ffmpegDefault == "" {
		ffmpegDefault = "ffmpeg"
	}
	ffmpeg := fs.String("ffmpeg", ffmpegDefault, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, demoUsage)
			return nil
		}
		return fmt.Errorf("%w\n%s", err, demoUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("demo: unexpected argument %q\n%s", fs.Arg(0), demoUsage)
	}
	if *duration < 500*time.Millisecond || *duration > 10*time.Minute {
		return errors.New("demo: --duration must be between 0.5s and 10m")
	}
	// Credentials and server first: no point in making clips for nothing.
	c, err := r.connect(ctx, getenv)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ginflix-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(stderr, "Making %d sample clips of %v with FFmpeg…\n", len(demoClips), *duration)
	items := make([]importItem, 0, len(demoClips))
	for _, clip := range demoClips {
		p := filepath.Join(dir, clip.file)
		if err := makeClip(ctx, *ffmpeg, clip, *duration, p); err != nil {
			if ctx.Err() != nil {
				return errors.New("interrupted")
			}
			return fmt.Errorf("demo: making %s: %w", clip.file, err)
		}
		items = append(items, importItem{path: p, label: clip.title,
			meta: tus.Metadata{Filename: clip.file, Title: clip.title, Description: clip.description, Tags: clip.tags}})
	}
	// The clips live in a temporary folder: nothing to resume next time.
	c.StateFile = ""
	if err := importAll(ctx, c, items, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Done: the videos are being transcoded; they appear in the admin's list at %s.\n", strings.TrimRight(r.server, "/"))
	return nil
}

// makeClip renders one clip with lavfi, quickly (ultrafast) rather than small.
func makeClip(ctx context.Context, ffmpeg string, clip demoClip, d time.Duration, out string) error {
	secs := fmt.Sprintf("%.3f", d.Seconds())
	args := []string{"-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", clip.video}
	if clip.audio != "" {
		args = append(args, "-f", "lavfi", "-i", clip.audio)
	}
	args = append(args, "-t", secs, "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt", "yuv420p", "-g", "50")
	if clip.audio != "" {
		args = append(args, "-c:a", "aac", "-b:a", "96k")
	} else {
		args = append(args, "-an")
	}
	args = append(args, "-movflags", "+faststart", out)
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(errOut.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, lastLines(msg, 3))
		}
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w (install FFmpeg or give --ffmpeg / GINFLIX_FFMPEG)", err)
		}
		return err
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
