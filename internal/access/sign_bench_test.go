package access

import (
	"testing"
	"time"
)

// BenchmarkVerify measures the success path of each type, the one every signed hit takes.
func BenchmarkVerify(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for _, ty := range allTypes {
		b.Run(ty.name, func(b *testing.B) {
			v := mustVerifier(b, SignConfig{Type: ty.typ, Keys: []string{vectorKey, otherKey}, TTL: time.Hour, CQueryForm: ty.cform})
			p, q := splitSigned(b, must(v.Sign("/images/2026/03/photo-1234.jpg?w=640&fm=webp", now, "", "")))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := v.Verify(p, q, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
