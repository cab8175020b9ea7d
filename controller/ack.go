package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sleegation/podd/safety"
	"github.com/sleegation/podd/uplink"
)

// Kinds of AckSource: who may clear a latched abort. Both are local; no
// hub command can (package hubcmd has no such command, and the pod answers
// any other name unknown_command).
const (
	// AckByAPI is a caller of the local API (podctl ack), identified by
	// the Unix socket's peer credentials.
	AckByAPI = "api"
	// AckByButton is the pod's acknowledgement button, held for its hold
	// time (hardware.ack_button, hardware.ack_hold).
	AckByButton = "button"
)

// The acknowledgement button's hold time (hardware.ack_hold): how long it
// must be held down before it acknowledges. Long enough that a sleeper
// rolling onto it clears nothing, short enough for a technician to hold.
const (
	DefaultAckHold = 3 * time.Second
	MinAckHold     = time.Second
	MaxAckHold     = 10 * time.Second
)

// MaxAckNote is the longest note an acknowledgement may carry, in runes
// (Unicode code points).
const MaxAckNote = 200

// AckSource is who asked for an acknowledgement. It is recorded in the ack
// event and its audit entry.
type AckSource struct {
	// Kind is AckByAPI or AckByButton.
	Kind string `json:"source"`
	// UID and PID are the local API caller's user and process ids as the
	// kernel gave them for the socket (SO_PEERCRED), never as the caller
	// claims them; nil for a button.
	UID *uint32 `json:"uid,omitempty"`
	PID *int32  `json:"pid,omitempty"`
	// User is UID's user name, when it resolves on the pod ("" otherwise).
	User string `json:"user,omitempty"`
	// Note is the caller's free text, as CleanAckNote returns it ("" for
	// none): what the caller says, not what the pod checked.
	Note string `json:"note,omitempty"`
}

// check reports what is wrong with s: an unknown kind, an API caller
// without credentials, a button with them, a note CleanAckNote would not
// return as it is.
func (s AckSource) check() error {
	switch s.Kind {
	case AckByAPI:
		if s.UID == nil || s.PID == nil {
			return errors.New("an acknowledgement through the local API needs the caller's uid and pid")
		}
	case AckByButton:
		if s.UID != nil || s.PID != nil || s.User != "" {
			return errors.New("a button has no uid, pid or user")
		}
	default:
		return fmt.Errorf("acknowledgement source %q: want %s or %s", s.Kind, AckByAPI, AckByButton)
	}
	if n, err := CleanAckNote(s.Note); err != nil {
		return err
	} else if n != s.Note {
		return fmt.Errorf("note %q is not clean (CleanAckNote gives %q)", s.Note, n)
	}
	return nil
}

// CleanAckNote returns note as an acknowledgement records it: tabs and line
// breaks become spaces, runs of spaces one space, and the ends are
// trimmed. It refuses, with an error saying why, a note that is not UTF-8,
// holds another control or format character (escape sequences, the
// bidirectional overrides that make a log line read otherwise), or is
// longer than MaxAckNote runes once cleaned.
func CleanAckNote(note string) (string, error) {
	if !utf8.ValidString(note) {
		return "", errors.New("note is not valid UTF-8")
	}
	var b strings.Builder
	space := false
	for i, r := range note {
		switch {
		case r == '\t' || r == '\n' || r == '\r' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !unicode.IsPrint(r):
			return "", fmt.Errorf("note has the control or format character %U at byte %d: write plain text", r, i)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if n := utf8.RuneCountInString(s); n > MaxAckNote {
		return "", fmt.Errorf("note is %d characters long, more than %d", n, MaxAckNote)
	}
	return s, nil
}

// LastAck is the latest acknowledgement: the abort it cleared, who asked
// and when.
type LastAck struct {
	// Rule and DetectedAt are the cleared abort's.
	Rule       string    `json:"rule"`
	DetectedAt time.Time `json:"detected_at"`
	// At is when it was cleared (wall clock).
	At time.Time `json:"at"`
	AckSource
}

// ackFields are the fields of the ack event (and its audit entry) of a
// cleared by src.
func ackFields(a safety.Abort, src AckSource) map[string]any {
	f := map[string]any{"rule": a.Rule, "detected_at": uplink.FormatTime(a.At), "by": "local", "source": src.Kind}
	if src.UID != nil {
		f["uid"] = *src.UID
	}
	if src.PID != nil {
		f["pid"] = *src.PID
	}
	if src.User != "" {
		f["user"] = src.User
	}
	if src.Note != "" {
		f["note"] = src.Note
	}
	return f
}

// ackButtonWait bounds how long a press of the acknowledgement button waits
// for the recorder (a hung store): the button's goroutine is then free for
// the next press, and the pod stays latched.
const ackButtonWait = 5 * time.Second

// pressAck is a press of the acknowledgement button, held for its hold
// time: an acknowledgement by AckByButton. A refusal or a failure is
// logged, and the latch stays.
func (p *Pod) pressAck(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, ackButtonWait)
	defer cancel()
	if _, err := p.Ack(ctx, AckSource{Kind: AckByButton}); err != nil {
		p.log.Warn("acknowledgement button: not acknowledged", "err", err)
	}
}

// LastAck returns the latest acknowledgement: since the start, or the
// latest the audit log recorded before it (readLastAck); nil when there is
// none.
func (p *Pod) LastAck() *LastAck {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastAck == nil {
		return nil
	}
	l := *p.lastAck
	return &l
}
