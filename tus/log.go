package tus

import (
	"context"
	"log/slog"

	xslog "golang.org/x/exp/slog"
)

// tusd v2 logs through golang.org/x/exp/slog, whose types differ from
// log/slog's. logBridge forwards its records to a log/slog handler.
//
// tusd logs every request and chunk at Info; those lines are demoted to
// Debug so that the backend's log keeps one line per meaningful event
// (created, finished, terminated, interrupted) plus warnings and errors.
// tusd never logs request headers (so never Authorization) nor bodies of
// PATCH requests; what it logs is method, path, request id, sizes and its
// own error messages.
type logBridge struct{ h slog.Handler }

func newTusdLogger(l *slog.Logger) *xslog.Logger {
	return xslog.New(logBridge{l.Handler().WithAttrs([]slog.Attr{slog.String("component", "tusd")})})
}

var tusdInfoEvents = map[string]bool{
	"UploadCreated":     true,
	"UploadFinished":    true,
	"UploadTerminated":  true,
	"UploadInterrupted": true,
}

func (b logBridge) level(l xslog.Level, msg string) slog.Level {
	lv := slog.Level(l)
	if lv == slog.LevelInfo && !tusdInfoEvents[msg] {
		lv = slog.LevelDebug
	}
	return lv
}

func (b logBridge) Enabled(ctx context.Context, l xslog.Level) bool {
	// The message is unknown here: ask for the lowest level it may map to.
	lv := slog.Level(l)
	if lv == slog.LevelInfo {
		lv = slog.LevelDebug
	}
	return b.h.Enabled(ctx, lv) || b.h.Enabled(ctx, slog.Level(l))
}

func (b logBridge) Handle(ctx context.Context, r xslog.Record) error {
	lv := b.level(r.Level, r.Message)
	if !b.h.Enabled(ctx, lv) {
		return nil
	}
	out := slog.NewRecord(r.Time, lv, r.Message, r.PC)
	r.Attrs(func(a xslog.Attr) bool {
		out.AddAttrs(convAttr(a))
		return true
	})
	return b.h.Handle(ctx, out)
}

func (b logBridge) WithAttrs(as []xslog.Attr) xslog.Handler {
	conv := make([]slog.Attr, len(as))
	for i, a := range as {
		conv[i] = convAttr(a)
	}
	return logBridge{b.h.WithAttrs(conv)}
}

func (b logBridge) WithGroup(name string) xslog.Handler { return logBridge{b.h.WithGroup(name)} }

func convAttr(a xslog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == xslog.KindGroup {
		g := v.Group()
		args := make([]any, len(g))
		for i, ga := range g {
			args[i] = convAttr(ga)
		}
		return slog.Group(a.Key, args...)
	}
	return slog.Any(a.Key, v.Any())
}
