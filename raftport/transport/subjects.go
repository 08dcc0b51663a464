package transport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Subjects of the NATS server's Raft (NRG), kept byte-for-byte so that a
// raftport node and a trace of the reference read the same.
const (
	// AllSubjects matches every NRG subject, including reply inboxes.
	AllSubjects = "$NRG.>"

	votePrefix       = "$NRG.V."
	appendPrefix     = "$NRG.AE."
	proposePrefix    = "$NRG.P."
	removePeerPrefix = "$NRG.RP."
	replyPrefix      = "$NRG.R."
	catchupPrefix    = "$NRG.CR."

	// inboxSuffixLen and inboxDigits give 62^8 distinct inboxes, as the
	// reference's replySuffixLen and digits do.
	inboxSuffixLen = 8
	inboxDigits    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrBadSubject is wrapped by every subject validation error.
var ErrBadSubject = errors.New("transport: bad subject")

// VoteSubject is where a group's candidates send vote requests.
func VoteSubject(group string) string { return votePrefix + group }

// AppendSubject is where a group's leader sends append entries.
func AppendSubject(group string) string { return appendPrefix + group }

// ProposeSubject is where followers forward proposals to the leader.
func ProposeSubject(group string) string { return proposePrefix + group }

// RemovePeerSubject is where followers forward peer removal proposals.
func RemovePeerSubject(group string) string { return removePeerPrefix + group }

// ReplyInbox builds a reply inbox ("$NRG.R.<suffix>") from a suffix.
func ReplyInbox(suffix string) string { return replyPrefix + suffix }

// CatchupInbox builds a catchup inbox ("$NRG.CR.<suffix>") from a suffix.
func CatchupInbox(suffix string) string { return catchupPrefix + suffix }

// NewCatchupInbox returns a fresh catchup inbox drawn from c, so that the
// in-process transport keeps catchup inbox names deterministic too.
func NewCatchupInbox(c Conn) string {
	inbox := c.NewInbox()
	if suffix, ok := strings.CutPrefix(inbox, replyPrefix); ok {
		return CatchupInbox(suffix)
	}
	return CatchupInbox(inboxSuffix(rand.Uint64()))
}

// CheckGroup reports whether group can be embedded in NRG subjects: it must
// be exactly one subject token.
func CheckGroup(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty group name", ErrBadSubject)
	}
	if strings.ContainsAny(group, ".*> \t\r\n") {
		return fmt.Errorf("%w: group name %q must be one token without '.', '*', '>' or whitespace", ErrBadSubject, group)
	}
	return nil
}

// inboxSuffix spells rn as inboxSuffixLen base-62 digits, least significant
// first, as the reference does.
func inboxSuffix(rn uint64) string {
	var b [inboxSuffixLen]byte
	for i := range b {
		b[i] = inboxDigits[rn%uint64(len(inboxDigits))]
		rn /= uint64(len(inboxDigits))
	}
	return string(b[:])
}

// checkSubject validates a subject; wildcards are allowed only when
// subscribing, and ">" only as the last token.
func checkSubject(subject string, wildcards bool) error {
	if subject == "" {
		return fmt.Errorf("%w: empty subject", ErrBadSubject)
	}
	if strings.ContainsAny(subject, " \t\r\n") {
		return fmt.Errorf("%w: %q contains whitespace", ErrBadSubject, subject)
	}
	// Every Publish checks its subjects, so the tokens are walked in place
	// rather than split into a slice.
	for rest, more := subject, true; more; {
		var tok string
		tok, rest, more = strings.Cut(rest, ".")
		switch {
		case tok == "":
			return fmt.Errorf("%w: %q has an empty token", ErrBadSubject, subject)
		case tok == "*" || tok == ">":
			if !wildcards {
				return fmt.Errorf("%w: %q has a wildcard, which cannot be published to", ErrBadSubject, subject)
			}
			if tok == ">" && more {
				return fmt.Errorf("%w: %q has '>' before its last token", ErrBadSubject, subject)
			}
		}
	}
	return nil
}

// hasWildcard reports whether subject has a "*" or ">" token.
func hasWildcard(subject string) bool {
	for rest, more := subject, true; more; {
		var tok string
		tok, rest, more = strings.Cut(rest, ".")
		if tok == "*" || tok == ">" {
			return true
		}
	}
	return false
}

// subjectMatches reports whether a literal subject falls under pattern.
func subjectMatches(pattern, subject string) bool {
	for {
		pTok, pRest, pMore := strings.Cut(pattern, ".")
		sTok, sRest, sMore := strings.Cut(subject, ".")
		switch {
		case pTok == ">":
			return true
		case pTok != "*" && pTok != sTok:
			return false
		case !pMore || !sMore:
			return pMore == sMore
		}
		pattern, subject = pRest, sRest
	}
}
