package imageproc

// IsImgixParam reports whether a query parameter name is one the imgix dialect reads: the edge
// strips those from the source's cache key and origin request.
func IsImgixParam(name string) bool {
	_, ok := imgixParams[name]
	return ok
}
