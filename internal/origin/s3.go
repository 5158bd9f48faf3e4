package origin

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// S3Config configures an S3-compatible origin.
type S3Config struct {
	// Endpoint is the service URL: https://s3.us-east-1.amazonaws.com,
	// https://oss-cn-hangzhou.aliyuncs.com, http://127.0.0.1:7070 ...
	Endpoint string
	Bucket   string
	// Region signs the requests; default "us-east-1".
	Region string
	// AccessKey empty means a public bucket: requests go unsigned.
	AccessKey, SecretKey, SessionToken string
	// PathStyle puts the bucket in the path (MinIO, versitygw) instead of the host name.
	PathStyle bool
	// Prefix is put in front of every object key ("site/" maps /a.png to site/a.png).
	Prefix string
	// ConnectTimeout and ResponseTimeout as in HTTPConfig; defaults 5s and 30s.
	ConnectTimeout, ResponseTimeout time.Duration
	// MaxHeaderBytes as in HTTPConfig; default 64 KiB.
	MaxHeaderBytes int
	// Now is the signing clock; default time.Now.
	Now func() time.Time
}

// DefaultS3Region is the region used to sign when S3Config.Region is empty.
const DefaultS3Region = "us-east-1"

func (c S3Config) withDefaults() S3Config {
	c.Region = cmpOr(c.Region, DefaultS3Region)
	c.ConnectTimeout = orDefault(c.ConnectTimeout, DefaultConnectTimeout)
	c.ResponseTimeout = orDefault(c.ResponseTimeout, DefaultResponseTimeout)
	c.MaxHeaderBytes = orDefault(c.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Validate reports a configuration NewS3 would refuse.
func (c S3Config) Validate() error {
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("origin s3: endpoint: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return fmt.Errorf("origin s3: endpoint %q: want http(s)://host[:port]", c.Endpoint)
	}
	if c.Bucket == "" || strings.ContainsAny(c.Bucket, "/?#") {
		return fmt.Errorf("origin s3: invalid bucket name %q", c.Bucket)
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return errors.New("origin s3: access key and secret key go together")
	}
	if c.ConnectTimeout < 0 || c.ResponseTimeout < 0 {
		return errors.New("origin s3: negative timeout")
	}
	return nil
}

// S3 is an Origin over one bucket of an S3-compatible object store. It only reads (GET, HEAD),
// signs with SigV4 when it has credentials, and answers like a plain web server: a missing key
// is a 404 without S3's XML, and x-amz-* headers never leave it. Safe for concurrent use.
type S3 struct {
	cfg       S3Config
	base      url.URL // scheme and host, and "/bucket" as path in path style
	name      string  // s3://bucket, for errors
	transport *http.Transport
	signer    *v4.Signer
	creds     aws.Credentials
}

var _ Origin = (*S3)(nil)

// NewS3 validates cfg and prepares the transport.
func NewS3(cfg S3Config) (*S3, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ep, _ := url.Parse(cfg.Endpoint)
	base := url.URL{Scheme: ep.Scheme, Host: ep.Host}
	if cfg.PathStyle {
		base.Path = "/" + cfg.Bucket
		base.RawPath = "/" + escapeS3Key(cfg.Bucket)
	} else {
		base.Host = cfg.Bucket + "." + ep.Host
	}
	addr := net.JoinHostPort(base.Hostname(), cmpOr(base.Port(), map[string]string{"http": "80", "https": "443"}[base.Scheme]))
	s := &S3{
		cfg:       cfg,
		base:      base,
		name:      "s3://" + cfg.Bucket,
		transport: newTransport(Server{}, HTTPConfig{ConnectTimeout: cfg.ConnectTimeout, ResponseTimeout: cfg.ResponseTimeout, MaxIdleConnsPerServer: DefaultMaxIdleConnsPerServer, MaxHeaderBytes: cfg.MaxHeaderBytes}, addr, base.Scheme == "https"),
		// S3 signs the path as sent, not escaped a second time.
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, SessionToken: cfg.SessionToken},
	}
	return s, nil
}

// Close drops idle connections.
func (s *S3) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// Fetch reads the object Prefix + req.URL.Path (without its leading "/"). The query string is
// the CDN's (image parameters...) and is not sent. Only If-None-Match and If-Modified-Since
// travel from the client; Cookie, Authorization and the rest stay behind.
func (s *S3) Fetch(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return methodNotAllowed(req), nil
	}
	key := s.cfg.Prefix + strings.TrimPrefix(req.URL.Path, "/")
	if key == "" {
		return textResponse(req, http.StatusNotFound, nil), nil // never list the bucket
	}
	out, err := s.request(req, key)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Server: s.name, Err: err}
	}
	resp, err := s.transport.RoundTrip(out)
	if err != nil {
		kind := classify(err)
		if errors.Is(req.Context().Err(), context.Canceled) {
			kind = KindUnavailable
		}
		return nil, &Error{Kind: kind, Server: s.name, Err: headerTooLarge(err)}
	}
	return s.translate(req, resp)
}

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func (s *S3) request(req *http.Request, key string) (*http.Request, error) {
	u := s.base
	u.Path = s.base.Path + "/" + key
	u.RawPath = s.base.EscapedPath() + "/" + escapeS3Key(key)
	out, err := http.NewRequestWithContext(req.Context(), req.Method, s.base.String(), nil)
	if err != nil {
		return nil, err
	}
	out.URL, out.Host = &u, u.Host
	for _, h := range []string{"If-None-Match", "If-Modified-Since"} {
		if v := req.Header.Values(h); len(v) > 0 {
			out.Header[h] = slices.Clone(v)
		}
	}
	out.Header.Set("User-Agent", "pixcdn")
	if s.cfg.AccessKey == "" {
		return out, nil
	}
	out.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	if err := s.signer.SignHTTP(req.Context(), s.creds, out, emptySHA256, "s3", s.cfg.Region, s.cfg.Now()); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return out, nil
}

// escapeS3Key encodes a key the way SigV4 canonicalises S3 paths: every byte except the
// unreserved characters and "/" as %XX. Sending exactly this form keeps the signed and the
// sent path identical, which is what makes keys with spaces, "+" or unicode work.
func escapeS3Key(key string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(key); i++ {
		if !unreservedOrSlash(key[i]) {
			n++
		}
	}
	if n == 0 {
		return key
	}
	b := make([]byte, 0, len(key)+2*n)
	for i := 0; i < len(key); i++ {
		if c := key[i]; unreservedOrSlash(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func unreservedOrSlash(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '/'
}

// s3PassHeaders are the object headers a CDN needs; x-amz-* and the rest are S3's business.
// They are in canonical form ("Etag"), the form net/http keys header maps by.
var s3PassHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Language", "Content-Disposition",
	"Cache-Control", "Expires", "Etag", "Last-Modified", "Accept-Ranges", "Content-Range",
}

// translate turns S3's answer into what a web server would have said: 2xx and 304 pass with
// the object's headers only; an error status becomes a plain response without S3's XML, except
// the answers that mean the origin is misconfigured, which become errors (see s3ConfigError).
func (s *S3) translate(req *http.Request, resp *http.Response) (*http.Response, error) {
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified {
		code := s3ErrorCode(resp)
		if err := s3ConfigError(resp.StatusCode, code); err != nil {
			return nil, &Error{Kind: KindUnavailable, Server: s.name, Err: err}
		}
		if resp.StatusCode == http.StatusBadRequest {
			return nil, &Error{Kind: KindBadRequest, Server: s.name, Err: fmt.Errorf("S3 refused the request: %s", code)}
		}
		return textResponse(req, resp.StatusCode, nil), nil
	}
	h := make(http.Header, len(s3PassHeaders))
	for _, name := range s3PassHeaders {
		if v := resp.Header[name]; len(v) > 0 {
			h[name] = v
		}
	}
	resp.Header = h
	resp.Request = req // the signed request must not travel further
	return resp, nil
}

// s3ConfigError recognises the answers that mean the origin is misconfigured (credentials,
// region, bucket) rather than that this object is missing or forbidden: the edge must not
// cache them as the object's status, and may serve stale instead.
func s3ConfigError(status int, code string) error {
	switch code {
	case "NoSuchBucket":
		return errors.New("S3: the bucket does not exist")
	case "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
		"RequestTimeTooSkewed", "AuthorizationHeaderMalformed", "InvalidSecurity", "AccountProblem",
		"PermanentRedirect", "TemporaryRedirect", // the bucket lives in another region or endpoint
		"XAdminUserNotFound": // versitygw's answer (a 404) for an unknown access key
		return fmt.Errorf("S3 refused the credentials, signature or endpoint (%d %s)", status, code)
	}
	return nil
}

// s3ErrorCode reads the <Code> of an S3 error body (HEAD answers have none) and closes it.
func s3ErrorCode(resp *http.Response) string {
	defer resp.Body.Close()
	var e struct {
		Code string `xml:"Code"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 16<<10)).Decode(&e); err != nil {
		return ""
	}
	return e.Code
}
