package auth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/bytedance/sonic"
)

// MinSecretLen is the shortest key secret accepted (bytes).
const MinSecretLen = 16

// Key is one HMAC key.
type Key struct {
	ID     string // 1..32 bytes of [A-Za-z0-9_-]
	Secret []byte // >= MinSecretLen bytes
}

func (k Key) valid() error {
	if !validKeyID(k.ID) {
		return fmt.Errorf("%w: key ID %q must be 1..32 bytes of A-Z a-z 0-9 _ -", ErrKeyFile, clip(k.ID))
	}
	if len(k.Secret) < MinSecretLen {
		return fmt.Errorf("%w: key %q: secret must be at least %d bytes, got %d", ErrKeyFile, k.ID, MinSecretLen, len(k.Secret))
	}
	return nil
}

func validKeyID(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// KeySet is the keys a verifier accepts. Rotation: add the new key, deploy, mint with it,
// and remove the old one once its tokens have expired. Immutable once built.
type KeySet struct {
	keys map[string]Key
	ids  []string // sorted
}

// NewKeySet builds a key set; key IDs must be unique.
func NewKeySet(keys ...Key) (*KeySet, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrKeyFile)
	}
	s := &KeySet{keys: make(map[string]Key, len(keys))}
	for _, k := range keys {
		if err := k.valid(); err != nil {
			return nil, err
		}
		if _, dup := s.keys[k.ID]; dup {
			return nil, fmt.Errorf("%w: key %q is listed twice", ErrKeyFile, k.ID)
		}
		s.keys[k.ID] = Key{ID: k.ID, Secret: slices.Clone(k.Secret)}
		s.ids = append(s.ids, k.ID)
	}
	slices.Sort(s.ids)
	return s, nil
}

// Get returns the key with ID id.
func (s *KeySet) Get(id string) (Key, bool) {
	k, ok := s.keys[id]
	return k, ok
}

// Active is the key new tokens are minted with: the greatest key ID in byte order (name
// keys so that the newest sorts last: "k1", "k2", or dates "2026-01").
func (s *KeySet) Active() Key { return s.keys[s.ids[len(s.ids)-1]] }

// IDs lists the key IDs, sorted.
func (s *KeySet) IDs() []string { return slices.Clone(s.ids) }

// ParseKeys reads a key file's contents: a JSON object mapping key ID to secret, each
// secret hex ("hex:" prefix optional) or base64 ("base64:" prefix; without a prefix, a
// string that is not valid hex is read as standard or URL base64):
//
//	{"k1": "hex:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}
func ParseKeys(data []byte) (*KeySet, error) {
	var m map[string]string
	if err := sonic.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object of key ID to secret: %w", ErrKeyFile, err)
	}
	keys := make([]Key, 0, len(m))
	for id, enc := range m {
		sec, err := decodeSecret(enc)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrKeyFile, clip(id), err)
		}
		keys = append(keys, Key{ID: id, Secret: sec})
	}
	return NewKeySet(keys...)
}

func decodeSecret(s string) ([]byte, error) {
	if h, ok := strings.CutPrefix(s, "hex:"); ok {
		return hex.DecodeString(h)
	}
	if b, ok := strings.CutPrefix(s, "base64:"); ok {
		return decodeB64(b)
	}
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	return decodeB64(s)
}

func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		enc = enc.Strict()
		if b, err := enc.DecodeString(s); err == nil && enc.EncodeToString(b) == s {
			return b, nil
		}
	}
	return nil, fmt.Errorf("secret is neither hex nor canonical base64")
}

// LoadKeys reads a key file (see ParseKeys). A file that its group or others may
// read or write is refused: the secrets sign every token (chmod 600).
func LoadKeys(path string) (*KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %#o: group and others must have no access (chmod 600 %s)", ErrKeyFile, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	ks, err := ParseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// GenerateKey returns a key with a random 32-byte secret.
func GenerateKey(id string) (Key, error) {
	k := Key{ID: id, Secret: make([]byte, 32)}
	if _, err := rand.Read(k.Secret); err != nil {
		return Key{}, fmt.Errorf("auth: generate key: %w", err)
	}
	return k, k.valid()
}

// MarshalKeys is the key-file form of keys (hex secrets), for WriteKeyFile and tools.
func MarshalKeys(keys ...Key) ([]byte, error) {
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		if err := k.valid(); err != nil {
			return nil, err
		}
		m[k.ID] = "hex:" + hex.EncodeToString(k.Secret)
	}
	return sonic.ConfigStd.MarshalIndent(m, "", "  ")
}

// WriteKeyFile creates a key file at path with mode 0600 (`copytrade dev` generates its
// own). It refuses to overwrite an existing file (O_EXCL), so a secret is never
// replaced by accident nor written through a link planted at path.
func WriteKeyFile(path string, keys ...Key) error {
	data, err := MarshalKeys(keys...)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("auth: create key file: %w", err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("auth: write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("auth: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("auth: write key file: %w", err)
	}
	return nil
}
