package access_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/pixcdn/pixcdn/internal/access"
)

func ExampleVerifier() {
	v, err := access.NewVerifier(access.SignConfig{
		Type: access.SignA,
		Keys: []string{"aliyuncdnexp1234", "next-key-0123456789"},
		TTL:  30 * time.Minute,
	})
	if err != nil {
		panic(err)
	}
	created := time.Unix(1444435200, 0)
	signed, _ := v.Sign("https://cdn.example.com/video/standard/1K.html?w=1", created, "0", "0")
	fmt.Println(signed)

	path, query, err := v.Verify("/video/standard/1K.html", "w=1&auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f", created)
	fmt.Println(path, query, err)

	_, _, err = v.Verify("/video/standard/1K.html", "auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f", created.Add(31*time.Minute))
	fmt.Println(err.(*access.VerifyError).Reason())
	// Output:
	// https://cdn.example.com/video/standard/1K.html?w=1&auth_key=1444435200-0-0-80cd3862d699b7118eed99103f2a3a4f
	// /video/standard/1K.html w=1 <nil>
	// expired
}

func ExampleClientIP() {
	proxies, _ := access.NewIPSet([]string{"10.0.0.0/8"})
	fmt.Println(access.ClientIP("10.0.0.1:443", []string{"6.6.6.6, 203.0.113.5, 10.1.1.1"}, proxies))
	fmt.Println(access.ClientIP("198.51.100.7:443", []string{"6.6.6.6"}, proxies))
	deny, _ := access.NewIPRule(access.IPRuleConfig{Mode: access.ModeDeny, CIDRs: []string{"203.0.113.0/24"}})
	fmt.Println(deny.Allowed(netip.MustParseAddr("203.0.113.5")))
	// Output:
	// 203.0.113.5
	// 198.51.100.7
	// false
}
