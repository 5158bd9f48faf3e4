package origin

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/pixcdn/pixcdn/internal/httpcache"
)

// FSConfig configures a filesystem origin. The zero value of every field but Root is usable.
type FSConfig struct {
	// Root is the directory served. Nothing outside it is ever read, whatever the path or the
	// symlinks inside it say.
	Root string
	// IndexFile is served for "/" and for directories; default "index.html". A directory without
	// it is 404 (no listings: a CDN must not reveal what the operator did not publish).
	IndexFile string
	// CacheControl is added to every 200 and 304 when non-empty, so a demo site gets a TTL
	// without an HTTP server in front of it.
	CacheControl string
}

// DefaultIndexFile is the index file served for directories when FSConfig.IndexFile is empty.
const DefaultIndexFile = "index.html"

// withDefaults fills the zero fields.
func (c FSConfig) withDefaults() FSConfig {
	if c.IndexFile == "" {
		c.IndexFile = DefaultIndexFile
	}
	return c
}

// Validate reports a configuration NewFS would refuse. IndexFile may be empty (the default).
func (c FSConfig) Validate() error {
	if c.Root == "" {
		return errors.New("origin fs: root is empty")
	}
	if c.IndexFile != "" && !fs.ValidPath(c.IndexFile) {
		return fmt.Errorf("origin fs: index file %q is not a relative slash-separated path", c.IndexFile)
	}
	return nil
}

// FS is an Origin over a directory or any fs.FS. It answers GET and HEAD with the headers a
// static web server would send (Content-Type, Content-Length, Last-Modified, a strong ETag) and
// answers If-None-Match / If-Modified-Since with 304 itself, because the edge revalidates with
// them. Safe for concurrent use.
type FS struct {
	fsys fs.FS
	name string // for errors and logs: the root directory or the name given to NewFSFrom
	cfg  FSConfig
	root *os.Root // nil for NewFSFrom

	// hashETags caches the content-hash ETags of files without a modification time. Such file
	// systems (embed.FS) are read-only, so a name's hash never changes.
	hashETags sync.Map // name → string
}

var _ Origin = (*FS)(nil)

// NewFS opens cfg.Root with os.OpenRoot, which confines every later open to it: "..", absolute
// symlinks and symlinks leading out of the root all fail rather than being followed.
func NewFS(cfg FSConfig) (*FS, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	root, err := os.OpenRoot(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("origin fs: %w", err)
	}
	return &FS{fsys: root.FS(), name: cfg.Root, cfg: cfg, root: root}, nil
}

// NewFSFrom serves fsys (the demo's embedded site, an fstest.MapFS...) with the same behaviour
// as NewFS. name identifies it in errors. cfg.Root is ignored. Files whose ModTime is zero get a
// content-hash ETag, computed once per name: such a file system is assumed immutable.
func NewFSFrom(fsys fs.FS, name string, cfg FSConfig) *FS {
	cfg = cfg.withDefaults()
	cfg.Root = ""
	return &FS{fsys: fsys, name: name, cfg: cfg}
}

// Close releases the root directory opened by NewFS. It is a no-op for NewFSFrom.
func (f *FS) Close() error {
	if f.root == nil {
		return nil
	}
	return f.root.Close()
}

// Fetch serves req.URL.Path. A missing file is a 404 response; a path that climbs above the root
// is an *Error of KindBadRequest; a file that exists but cannot be read is KindUnavailable.
func (f *FS) Fetch(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return methodNotAllowed(req), nil
	}
	name, err := fsName(req.URL.Path)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Server: f.name, Err: err}
	}
	wantDir := strings.HasSuffix(req.URL.Path, "/")
	file, info, name, err := f.open(name, wantDir)
	if err != nil {
		if f.isMissing(err) {
			return textResponse(req, http.StatusNotFound, nil), nil
		}
		return nil, &Error{Kind: KindUnavailable, Server: f.name, Err: err}
	}
	resp, err := f.respond(req, file, info, name)
	if err != nil {
		file.Close()
		return nil, &Error{Kind: KindUnavailable, Server: f.name, Err: err}
	}
	return resp, nil
}

var (
	errPathEscapes = errors.New("path escapes the root")
	errPathNUL     = errors.New("path contains a NUL byte")
	errPathUTF8    = errors.New("path is not valid UTF-8") // fs.FS names must be; no file could match
)

// fsName turns a URL path into an fs.FS name. It refuses paths whose ".." segments climb above
// the root instead of clamping them, so a traversal attempt is visible as a 400 and never
// silently served as some other file; ".." that stays inside ("/a/../b") is resolved.
func fsName(urlPath string) (string, error) {
	if strings.IndexByte(urlPath, 0) >= 0 {
		return "", errPathNUL
	}
	if !utf8.ValidString(urlPath) {
		return "", errPathUTF8
	}
	depth := 0
	for seg := range strings.SplitSeq(urlPath, "/") {
		switch seg {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return "", fmt.Errorf("%w: %q", errPathEscapes, urlPath)
			}
		default:
			depth++
		}
	}
	name := strings.Trim(path.Clean("/"+urlPath), "/")
	if name == "" {
		name = "."
	}
	return name, nil
}

// open finds the regular file for name, descending into IndexFile for directories. It stats
// before opening so that a FIFO or device is refused without an open that could block.
func (f *FS) open(name string, wantDir bool) (fs.File, fs.FileInfo, string, error) {
	info, err := fs.Stat(f.fsys, name)
	if err != nil {
		return nil, nil, "", err
	}
	if info.IsDir() {
		name = path.Join(name, f.cfg.IndexFile)
		if info, err = fs.Stat(f.fsys, name); err != nil {
			return nil, nil, "", err
		}
	} else if wantDir {
		return nil, nil, "", fs.ErrNotExist
	}
	if !info.Mode().IsRegular() {
		return nil, nil, "", fmt.Errorf("%s: not a regular file: %w", name, fs.ErrNotExist)
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, nil, "", err
	}
	return file, info, name, nil
}

// isMissing tells a file the client may simply not find (404) from a failure of the origin.
func (f *FS) isMissing(err error) bool {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return true
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == syscall.ENOTDIR || errno == syscall.ELOOP || errno == syscall.ENAMETOOLONG
	}
	// os.Root reports a symlink leading out of the root as a *PathError around an unexported,
	// non-errno error. From the client's side that file does not exist.
	var pe *fs.PathError
	return f.root != nil && errors.As(err, &pe)
}

// respond builds the 200 or 304 for an open regular file. It owns file on success.
func (f *FS) respond(req *http.Request, file fs.File, info fs.FileInfo, name string) (*http.Response, error) {
	etag, err := f.etag(info, name)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 6)
	h.Set("ETag", etag)
	mod := info.ModTime()
	if !isZeroTime(mod) {
		h.Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
	}
	if f.cfg.CacheControl != "" {
		h.Set("Cache-Control", f.cfg.CacheControl)
	}
	if notModified(req.Header, etag, mod) {
		file.Close()
		resp := newResponse(req, http.StatusNotModified, h, nil, -1)
		resp.ContentLength = 0
		return resp, nil
	}
	ctype, body, err := contentType(file, name)
	if err != nil {
		return nil, err
	}
	h.Set("Content-Type", ctype)
	if req.Method == http.MethodHead {
		body.Close()
		body = http.NoBody
	}
	return newResponse(req, http.StatusOK, h, body, info.Size()), nil
}

// isZeroTime treats the Unix epoch like the zero time, as net/http does: some fs.FS
// implementations report it for "unknown".
func isZeroTime(t time.Time) bool { return t.IsZero() || t.Equal(time.Unix(0, 0)) }

// etag is strong: size and modification time identify a version of a file as well as a hash
// would for a static site, without reading it. Without a modification time it hashes the content.
func (f *FS) etag(info fs.FileInfo, name string) (string, error) {
	if mod := info.ModTime(); !isZeroTime(mod) {
		return `"` + strconv.FormatInt(info.Size(), 16) + "-" + strconv.FormatInt(mod.UnixNano(), 16) + `"`, nil
	}
	if e, ok := f.hashETags.Load(name); ok {
		return e.(string), nil
	}
	file, err := f.fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer file.Close()
	sum := sha256.New()
	if _, err := io.Copy(sum, file); err != nil {
		return "", fmt.Errorf("hash %s: %w", name, err)
	}
	e := `"` + hex.EncodeToString(sum.Sum(nil)[:16]) + `"`
	f.hashETags.Store(name, e)
	return e, nil
}

// contentType uses the extension first (what browsers expect for .css and .js, which sniffing
// gets wrong), then sniffs the first 512 bytes, putting them back in front of the body.
func contentType(file fs.File, name string) (string, io.ReadCloser, error) {
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		return ct, file, nil
	}
	buf := make([]byte, 512)
	n, err := io.ReadFull(file, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", nil, fmt.Errorf("read %s: %w", name, err)
	}
	ct := http.DetectContentType(buf[:n])
	if s, ok := file.(io.Seeker); ok {
		if _, err := s.Seek(0, io.SeekStart); err != nil {
			return "", nil, fmt.Errorf("seek %s: %w", name, err)
		}
		return ct, file, nil
	}
	return ct, struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf[:n]), file), file}, nil
}

// notModified evaluates If-None-Match, or If-Modified-Since when there is none (RFC 9110
// 13.2.2), with the cache's own rules (weak comparison, whole seconds, bad dates ignored).
func notModified(h http.Header, etag string, mod time.Time) bool {
	v := httpcache.Validators{ETag: etag}
	if !isZeroTime(mod) {
		v.LastModified = mod.Truncate(time.Second)
	}
	return httpcache.CheckPreconditions(http.MethodGet, h, v) == http.StatusNotModified
}
