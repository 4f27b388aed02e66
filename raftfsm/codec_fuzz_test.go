package raftfsm

import (
	"bytes"
	"testing"
)

// FuzzDecodeCommand: Decode never panics, and whatever it accepts is the
// canonical encoding of what it returns (Encode(Decode(b)) == b).
func FuzzDecodeCommand(f *testing.F) {
	for _, b := range goldenEncodings(f) {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{LogVersion, byte(OpOrderResults), 0, 0xff, 0xff, 0x03})
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Decode(data)
		if err != nil {
			return
		}
		if env.Cmd == nil {
			t.Fatalf("Decode(%x) returned no command and no error", data)
		}
		if got := Encode(env); !bytes.Equal(got, data) {
			t.Fatalf("not canonical:\n  in: %x\n out: %x", data, got)
		}
	})
}
