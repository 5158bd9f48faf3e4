// Package s3test runs a real S3 server, versitygw with its posix backend on a directory, for the
// tests of the S3 origin and of anything built on it. It also writes buckets, objects and bucket
// policies with SigV4-signed requests, so tests need no S3 SDK.
package s3test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// InstallCommand installs the versitygw this package expects.
const InstallCommand = "go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// ErrNotInstalled is returned by Binary when versitygw is neither in PATH nor in GOPATH/bin.
var ErrNotInstalled = errors.New("versitygw not found; install it with: " + InstallCommand)

// Binary finds versitygw in PATH, then in $(go env GOPATH)/bin.
func Binary() (string, error) {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "versitygw")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

// Server is one running versitygw process.
type Server struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string // root account
	SecretKey string
	Region    string
	Dir       string // the posix backend's directory: one subdirectory per bucket

	cmd    *exec.Cmd
	exited chan struct{}
	output *lockedBuffer
	client *http.Client
	signer *v4.Signer
}

// Start runs versitygw (bin, from Binary) on a free loopback port with dir as its storage and
// returns once it accepts connections.
func Start(bin, dir string) (*Server, error) {
	var lastErr error
	for range 3 { // the free port may be taken between choosing it and versitygw binding it
		s, err := start(bin, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		Endpoint:  "http://127.0.0.1:" + port,
		AccessKey: "pixcdnroot",
		SecretKey: "pixcdn-root-secret-key",
		Region:    "us-east-1",
		Dir:       dir,
		exited:    make(chan struct{}),
		output:    &lockedBuffer{},
		client:    &http.Client{Timeout: 10 * time.Second},
		signer:    v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
	}
	s.cmd = exec.Command(bin, "--access", s.AccessKey, "--secret", s.SecretKey, "--region", s.Region,
		"--port", "127.0.0.1:"+port, "--quiet", "posix", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
	setDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("s3test: start versitygw: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	if err := s.waitReady("127.0.0.1:"+port, 10*time.Second); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("s3test: %w", err)
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// waitReady polls the port: this is connection readiness, bounded, not a guess at timing.
func (s *Server) waitReady(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("s3test: versitygw exited: %s", s.output.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("s3test: versitygw not listening on %s after %v: %s", addr, limit, s.output.String())
}

// Close stops the process and waits for it.
func (s *Server) Close() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Kill(); err != nil {
		return err
	}
	<-s.exited
	return nil
}

// CreateBucket creates bucket, private by default.
func (s *Server) CreateBucket(ctx context.Context, bucket string) error {
	return s.expectOK(s.Do(ctx, http.MethodPut, "/"+bucket, "", nil, nil))
}

// PutObject stores body under key; header may carry Content-Type, Cache-Control...
func (s *Server) PutObject(ctx context.Context, bucket, key string, body []byte, header http.Header) error {
	return s.expectOK(s.Do(ctx, http.MethodPut, "/"+bucket+"/"+EscapeKey(key), "", body, header))
}

// PutBucketPolicy sets a bucket policy document (JSON).
func (s *Server) PutBucketPolicy(ctx context.Context, bucket, policy string) error {
	return s.expectOK(s.Do(ctx, http.MethodPut, "/"+bucket, "policy=", []byte(policy), nil))
}

// PublicReadPolicy allows anonymous s3:GetObject on every object of bucket.
func PublicReadPolicy(bucket string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + bucket + `/*"]}]}`
}

// Do sends a path-style request signed with the root credentials. escapedPath must already be
// encoded the S3 way (EscapeKey); rawQuery is sent as is.
func (s *Server) Do(ctx context.Context, method, escapedPath, rawQuery string, body []byte, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.Endpoint+escapedPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.URL.RawQuery = rawQuery
	for k, v := range header {
		req.Header[k] = v
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	creds := aws.Credentials{AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey}
	if err := s.signer.SignHTTP(ctx, creds, req, hash, "s3", s.Region, time.Now()); err != nil {
		return nil, err
	}
	return s.client.Do(req)
}

func (s *Server) expectOK(resp *http.Response, err error) error {
	if err != nil {
		return fmt.Errorf("s3test: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("s3test: %s %s: %s: %s", resp.Request.Method, resp.Request.URL, resp.Status, body)
	}
	return nil
}

// EscapeKey encodes an object key as S3 and SigV4 expect: every byte but A-Z a-z 0-9 - . _ ~
// and "/" percent-encoded. Written independently of the origin's encoder so each checks the other.
func EscapeKey(key string) string {
	var b strings.Builder
	for _, c := range []byte(key) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// lockedBuffer collects the process output for error messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
