package access

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Sign returns rawURL signed with the primary key at time now, for `pixcdn sign` and for
// operators' own tooling. rawURL is an absolute URL or an absolute path; its query and fragment are
// kept. rand and uid are type A's fields ("0" when empty) and are ignored by the other types.
// A URL that already carries this type's signing parameters is refused rather than signed twice.
func (v *Verifier) Sign(rawURL string, now time.Time, rand string, uid string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", fmt.Errorf("access: sign %q: %w", rawURL, err)
	}
	if err := signable(u); err != nil {
		return "", fmt.Errorf("access: sign %q: %w", rawURL, err)
	}
	path, query := u.EscapedPath(), u.RawQuery
	if hasAnyParam(query, v.signParams()...) {
		return "", fmt.Errorf("access: sign %q: already carries signing parameters", rawURL)
	}
	path, query, err = v.signParts(path, query, now, rand, uid)
	if err != nil {
		return "", fmt.Errorf("access: sign %q: %w", rawURL, err)
	}
	return rebuild(u, path, query), nil
}

func signable(u *url.URL) error {
	switch {
	case u.Opaque != "" || (u.Scheme != "" && u.Host == ""):
		return errors.New("not an absolute URL or absolute path")
	case u.User != nil:
		return errors.New("user information in a CDN URL")
	case !strings.HasPrefix(u.EscapedPath(), "/"):
		return errors.New("path must start with /")
	}
	return nil
}

// signParams are the query names this configuration's type reads.
func (v *Verifier) signParams() []string {
	switch v.cfg.Type {
	case SignA:
		return []string{v.cfg.ParamA}
	case SignC:
		return []string{v.cfg.ParamC1, v.cfg.ParamC2}
	case SignF:
		return []string{v.cfg.ParamSign, v.cfg.ParamTime}
	case SignHMAC:
		return []string{HMACParamExp, HMACParamSig}
	}
	return nil
}

func (v *Verifier) signParts(path, query string, now time.Time, rand, uid string) (string, string, error) {
	key := v.cfg.Keys[0]
	switch v.cfg.Type {
	case SignA:
		return v.signA(path, query, now, rand, uid)
	case SignB:
		ts := now.In(utc8).Format(layoutB)
		sum := md5Hex(key, ts, path)
		return "/" + ts + "/" + string(sum[:]) + path, query, nil
	case SignC:
		return v.signC(path, query, now)
	case SignF:
		ts := strconv.FormatInt(now.Unix(), 10)
		sum := md5Hex(key, path, ts)
		return path, appendQuery(query, v.cfg.ParamSign+"="+string(sum[:])+"&"+v.cfg.ParamTime+"="+ts), nil
	default:
		q, err := v.signHMAC(path, query, now)
		return path, q, err
	}
}

func (v *Verifier) signA(path, query string, now time.Time, rand, uid string) (string, string, error) {
	if rand == "" {
		rand = "0"
	}
	if uid == "" {
		uid = "0"
	}
	if strings.Contains(rand, "-") || strings.Contains(uid, "-") {
		return "", "", errors.New("type A rand and uid must not contain '-'")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	if now.Unix() < 0 {
		return "", "", errors.New("type A time before 1970")
	}
	sum := md5Hex(path, "-", ts, "-", rand, "-", uid, "-", v.cfg.Keys[0])
	val := ts + "-" + rand + "-" + uid + "-" + string(sum[:])
	return path, appendQuery(query, v.cfg.ParamA+"="+url.QueryEscape(val)), nil
}

func (v *Verifier) signC(path, query string, now time.Time) (string, string, error) {
	sec := now.Unix()
	if sec < 0 || sec > 0xFFFFFFFF {
		return "", "", errors.New("type C time outside 8 hex digits")
	}
	hexts := fmt.Sprintf("%08X", sec)
	sum := md5Hex(v.cfg.Keys[0], path, hexts)
	if v.cfg.CQueryForm {
		return path, appendQuery(query, v.cfg.ParamC1+"="+string(sum[:])+"&"+v.cfg.ParamC2+"="+hexts), nil
	}
	return "/" + string(sum[:]) + "/" + hexts + path, query, nil
}

// rebuild puts u back together around a new escaped path and raw query.
func rebuild(u *url.URL, path, query string) string {
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + "://" + u.Host)
	} else if u.Host != "" {
		b.WriteString("//" + u.Host)
	}
	b.WriteString(path)
	if query != "" {
		b.WriteString("?" + query)
	}
	if u.Fragment != "" {
		b.WriteString("#" + u.EscapedFragment())
	}
	return b.String()
}
