package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenCanonical: a token verifies only in the exact form it was minted in. Base64
// has more than one spelling for the same bytes (the unused low bits of the last
// character, line breaks the decoder skips); each altered spelling of a field is
// refused. A key file others can read is refused; a key file is never overwritten.
func TestTokenCanonical(t *testing.T) {
	ks, keys := testKeys(t, "k1")
	now := time.Unix(1_800_000_000, 0)
	// An identity whose encoding ends in a character with unused bits (1 byte: 2 chars).
	tok, err := MintAt(keys[0], "7", AccountRole(7), now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(ks, tok, now); err != nil {
		t.Fatal(err)
	}
	f := strings.Split(tok, ".")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	// flipLow changes the last character's lowest bit: for a field whose length leaves
	// unused low bits, the lenient decoder reads the same bytes.
	flipLow := func(s string) string {
		i := strings.IndexByte(alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(alphabet[i^1])
	}
	var variants []string
	for _, i := range []int{2, 3, 5} {
		for _, alt := range []string{flipLow(f[i]), f[i][:1] + "\n" + f[i][1:], f[i] + "\r\n", f[i] + "="} {
			g := append([]string(nil), f...)
			g[i] = alt
			variants = append(variants, strings.Join(g, "."))
		}
	}
	for _, v := range variants {
		if v == tok {
			t.Fatalf("variant equals the token")
		}
		if c, err := verify(ks, v, now); err == nil {
			t.Errorf("altered token %q verified as %+v (the original is %q)", v, c, tok)
		}
	}

	// Key files: a secret has one spelling too.
	if _, err := ParseKeys([]byte(`{"k":"base64:AAECAwQFBgcICQoLDA0ODx=="}`)); !errors.Is(err, ErrKeyFile) {
		t.Errorf("non-canonical base64 secret: %v, want ErrKeyFile", err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.json")
	if err := WriteKeyFile(path, keys...); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode().Perm(), err)
	}
	if err := WriteKeyFile(path, keys...); err == nil {
		t.Error("an existing key file was overwritten")
	}
	if _, err := LoadKeys(path); err != nil {
		t.Fatalf("0600 key file: %v", err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeys(path); !errors.Is(err, ErrKeyFile) {
			t.Errorf("key file with mode %#o: %v, want ErrKeyFile", mode, err)
		}
	}
}
