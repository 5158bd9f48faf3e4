package config

import "testing"

func TestCatchAllDomain(t *testing.T) {
	doc := "domains:\n  - name: a.example\n    origin: {root: testdata/site}\n  - name: \"*\"\n    origin: {root: testdata/site}\n"
	c, err := Parse([]byte(doc), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"a.example": "a.example", "A.Example:80": "a.example", "other.test": "*", "": "*", "*": "*"} {
		if d := c.Domain(host); d == nil || d.Name != want {
			t.Errorf("Domain(%q) = %v, want %s", host, d, want)
		}
	}
	c, _ = Parse([]byte("domains:\n  - name: a.example\n    origin: {root: testdata/site}\n"), "t.yaml")
	if d := c.Domain("other.test"); d != nil {
		t.Errorf("no catch-all configured, got %s", d.Name)
	}
}
