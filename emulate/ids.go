package emulate

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
)

// idSource derives every identifier and every random choice of one
// scenario from the seed, the scenario id and a name for the value: the
// same scenario gets the same ids whatever else is selected, and two
// scenarios never share one.
type idSource struct {
	seed  uint64
	scope string
}

func (g idSource) sum(parts ...string) [32]byte {
	h := sha256.New()
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], g.seed)
	h.Write(s[:])
	h.Write([]byte(g.scope))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// hex returns n lower-case hex digits.
func (g idSource) hex(n int, parts ...string) string {
	sum := g.sum(parts...)
	b := make([]byte, n)
	for i := range b {
		x := sum[(i/2)%32]
		if i%2 == 0 {
			x >>= 4
		}
		b[i] = hexDigits[x&0xf]
	}
	return string(b)
}

// ec2 returns an EC2-style id: the prefix, a dash, a zero and 16 hex
// digits (i-0a1b2c3d4e5f60718).
func (g idSource) ec2(prefix, sym string) string {
	return prefix + "-0" + g.hex(16, prefix, sym)
}

// guid returns a version-4 GUID.
func (g idSource) guid(parts ...string) string {
	sum := g.sum(parts...)
	return formatGUID(sum[:16])
}

func formatGUID(u []byte) string {
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	j := 0
	for i, x := range u[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[x>>4], hexDigits[x&0xf]
		j += 2
	}
	return string(b[:])
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// alnum returns n letters and digits (the unique part of an S3 log key).
func (g idSource) alnum(n int, parts ...string) string {
	sum := g.sum(parts...)
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[int(sum[i%32]+byte(i/32))%len(alnum)]
	}
	return string(b)
}

// base32Upper is the alphabet of AWS unique ids (AKIA..., AROA...).
const base32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// upper returns n characters of the AWS unique-id alphabet.
func (g idSource) upper(n int, parts ...string) string {
	sum := g.sum(parts...)
	b := make([]byte, n)
	for i := range b {
		b[i] = base32Upper[(sum[i%32]+byte(i/32))%32]
	}
	return string(b)
}

// intn returns a number in [0, n).
func (g idSource) intn(n int, parts ...string) int {
	if n <= 1 {
		return 0
	}
	sum := g.sum(parts...)
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// between returns a number in [lo, hi].
func (g idSource) between(lo, hi int, parts ...string) int {
	return lo + g.intn(hi-lo+1, parts...)
}

// itoa is strconv.Itoa, short.
func itoa(i int) string { return strconv.Itoa(i) }

func strconvFormat(i int64) string { return strconv.FormatInt(i, 10) }
