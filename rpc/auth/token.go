package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A token is six dot-separated fields:
//
//	v1.<kid>.<b64url(identity)>.<b64url(role)>.<expiry unix seconds>.<b64url(sig)>
//
// sig = HMAC-SHA256(secret of kid, "v1" 0 kid 0 identity 0 role 0 expiry). Identity and
// role are base64url (no padding) so any byte is safe; the key ID is restricted to
// [A-Za-z0-9_-] so it needs no encoding. A token is at most MaxTokenLen bytes.

const (
	tokenVersion = "v1"
	// MaxTokenLen bounds a token; longer ones are refused before any decoding.
	MaxTokenLen = 1024
	// MaxIdentityLen bounds an identity (bytes).
	MaxIdentityLen = 128
)

// b64 encodes the token's fields. Decoding is strict and canonical (decodeField): a
// field is accepted only in the one form the encoder produces, so no other string (set
// trailing bits, an inserted line break) verifies as the same token.
var b64 = base64.RawURLEncoding.Strict()

// decodeField decodes one base64url field and refuses any form but the canonical one.
// Strict decoding still skips CR and LF, hence the re-encoding check.
func decodeField(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != s {
		return nil, errNotCanonical
	}
	return b, nil
}

// Claims are what a token asserts.
type Claims struct {
	// Identity names the caller: an account ID for account roles, a service or person
	// otherwise ("trading-system-1", "ops:alice").
	Identity string
	// Role is what the caller may do.
	Role Role
	// Expiry is when the token stops being accepted.
	Expiry time.Time
	// KeyID names the key that signed the token.
	KeyID string
}

// Mint signs a token for identity and role with key, valid for ttl from now.
func Mint(key Key, identity string, role Role, ttl time.Duration) (string, error) {
	return MintAt(key, identity, role, time.Now().Add(ttl))
}

// MintAt signs a token that expires at expiry (tests, tooling).
func MintAt(key Key, identity string, role Role, expiry time.Time) (string, error) {
	if err := key.valid(); err != nil {
		return "", err
	}
	if identity == "" || len(identity) > MaxIdentityLen {
		return "", fmt.Errorf("%w: identity must be 1..%d bytes", ErrMint, MaxIdentityLen)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMint, err)
	}
	exp := expiry.Unix()
	if exp <= 0 {
		return "", fmt.Errorf("%w: expiry must be after 1970", ErrMint)
	}
	expS := strconv.FormatInt(exp, 10)
	sig := sign(key.Secret, key.ID, identity, string(role), expS)
	tok := strings.Join([]string{tokenVersion, key.ID, b64.EncodeToString([]byte(identity)),
		b64.EncodeToString([]byte(role)), expS, b64.EncodeToString(sig)}, ".")
	if len(tok) > MaxTokenLen {
		return "", fmt.Errorf("%w: token would be %d bytes, more than %d", ErrMint, len(tok), MaxTokenLen)
	}
	return tok, nil
}

func sign(secret []byte, kid, identity, role, exp string) []byte {
	m := hmac.New(sha256.New, secret)
	for i, s := range []string{tokenVersion, kid, identity, role, exp} {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(s))
	}
	return m.Sum(nil)
}

// parsed is a token split into its fields, before the signature is checked.
type parsed struct {
	kid, identity, role, exp string
	sig                      []byte
}

func parse(tok string) (parsed, error) {
	var p parsed
	if tok == "" {
		return p, ErrMissingToken
	}
	if len(tok) > MaxTokenLen {
		return p, fmt.Errorf("%w: longer than %d bytes", ErrMalformedToken, MaxTokenLen)
	}
	f := strings.Split(tok, ".")
	if len(f) != 6 {
		return p, fmt.Errorf("%w: want 6 dot-separated fields, got %d", ErrMalformedToken, len(f))
	}
	if f[0] != tokenVersion {
		return p, fmt.Errorf("%w: unknown version %q", ErrMalformedToken, clip(f[0]))
	}
	if !validKeyID(f[1]) {
		return p, fmt.Errorf("%w: bad key ID", ErrMalformedToken)
	}
	p.kid = f[1]
	id, err := decodeField(f[2])
	if err != nil || len(id) == 0 || len(id) > MaxIdentityLen {
		return p, fmt.Errorf("%w: bad identity field", ErrMalformedToken)
	}
	role, err := decodeField(f[3])
	if err != nil || len(role) == 0 {
		return p, fmt.Errorf("%w: bad role field", ErrMalformedToken)
	}
	if _, err := strconv.ParseInt(f[4], 10, 64); err != nil {
		return p, fmt.Errorf("%w: bad expiry field", ErrMalformedToken)
	}
	sig, err := decodeField(f[5])
	if err != nil || len(sig) != sha256.Size {
		return p, fmt.Errorf("%w: bad signature field", ErrMalformedToken)
	}
	p.identity, p.role, p.exp, p.sig = string(id), string(role), f[4], sig
	return p, nil
}

// verify checks tok against keys at now.
func verify(keys *KeySet, tok string, now time.Time) (Claims, error) {
	p, err := parse(tok)
	if err != nil {
		return Claims{}, err
	}
	key, ok := keys.Get(p.kid)
	if !ok {
		return Claims{}, fmt.Errorf("%w: %q", ErrUnknownKey, p.kid)
	}
	if !hmac.Equal(sign(key.Secret, p.kid, p.identity, p.role, p.exp), p.sig) {
		return Claims{}, ErrBadSignature
	}
	// Only a signed token's fields are interpreted further.
	exp, _ := strconv.ParseInt(p.exp, 10, 64)
	if now.Unix() >= exp {
		return Claims{}, fmt.Errorf("%w: at %s", ErrExpired, time.Unix(exp, 0).UTC().Format(time.RFC3339))
	}
	role, err := ParseRole(p.role)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrMalformedToken, err)
	}
	return Claims{Identity: p.identity, Role: role, Expiry: time.Unix(exp, 0), KeyID: p.kid}, nil
}

func clip(s string) string {
	if len(s) > 16 {
		return s[:16] + "..."
	}
	return s
}
