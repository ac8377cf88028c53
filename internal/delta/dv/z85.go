package dv

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// z85Alphabet is the ZeroMQ Z85 alphabet (https://rfc.zeromq.org/spec/32/),
// the Base85 variant Delta uses because it is JSON-friendly.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

var z85Decode = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(z85Alphabet); i++ {
		t[z85Alphabet[i]] = int8(i)
	}
	return t
}()

// Z85Decode decodes Z85 text. The text length must be a multiple of 5; every
// 5 characters yield 4 bytes (big-endian). Callers that encoded a byte count
// not divisible by 4 (Delta inline DVs) truncate the zero padding to the
// known size themselves.
//
// The last group may also use the padded tail of the Rust z85 crate, which
// delta-kernel-rs uses to write inline DVs: k leading '#' characters (1 to 3)
// mean the group encodes only 4-k bytes, as a big-endian number in the
// remaining 5-k characters (for example "##093" is the two bytes 03 00). A
// standard group can never start with '#' (84*85^4 > 2^32), so this is
// unambiguous; the result is then 4*len(s)/5-k bytes long. Delta's Java codec
// does not understand such tails.
func Z85Decode(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("z85: length %d is not a multiple of 5", len(s))
	}
	groups := len(s) / 5
	out := make([]byte, groups*4)
	for g := 0; g < groups; g++ {
		grp := s[g*5 : g*5+5]
		missing := 0
		if g == groups-1 {
			for missing < 3 && grp[missing] == '#' {
				missing++
			}
		}
		var v uint64
		for i := missing; i < 5; i++ {
			c := grp[i]
			d := z85Decode[c]
			if d < 0 {
				return nil, fmt.Errorf("z85: invalid character %q at offset %d", c, g*5+i)
			}
			v = v*85 + uint64(d)
		}
		if v >= 1<<(8*(4-missing)) {
			return nil, fmt.Errorf("z85: group at offset %d overflows %d bytes", g*5, 4-missing)
		}
		if missing > 0 {
			// Padded tail: 4-missing bytes, big-endian.
			n := 4 - missing
			for i := 0; i < n; i++ {
				out[g*4+i] = byte(v >> (8 * (n - 1 - i)))
			}
			return out[:g*4+n], nil
		}
		binary.BigEndian.PutUint32(out[g*4:], uint32(v))
	}
	return out, nil
}

// Z85Encode encodes b as Z85 text. Z85 works on 4-byte groups; input whose
// length is not a multiple of 4 is padded with zero bytes, as Delta's Java
// codec does for inline DVs (sizeInBytes records the unpadded length). This
// form is readable by every Delta implementation, unlike the z85 crate's
// padded tail (see Z85Decode).
func Z85Encode(b []byte) string {
	groups := (len(b) + 3) / 4
	var sb strings.Builder
	sb.Grow(groups * 5)
	var buf [4]byte
	var digits [5]byte
	for g := 0; g < groups; g++ {
		buf = [4]byte{}
		copy(buf[:], b[g*4:])
		v := binary.BigEndian.Uint32(buf[:])
		for i := 4; i >= 0; i-- {
			digits[i] = z85Alphabet[v%85]
			v /= 85
		}
		sb.Write(digits[:])
	}
	return sb.String()
}
