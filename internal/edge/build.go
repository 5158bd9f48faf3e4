package edge

import (
	"fmt"

	"github.com/pixcdn/pixcdn/internal/config"
	"github.com/pixcdn/pixcdn/internal/origin"
)

// buildOrigin turns a domain's origin configuration into an Origin behind the per-origin
// concurrency limit.
func buildOrigin(oc *config.Origin) (origin.Origin, error) {
	var (
		o   origin.Origin
		err error
	)
	switch oc.Type {
	case "fs":
		o, err = origin.NewFS(origin.FSConfig{Root: oc.Root, IndexFile: oc.IndexFile, CacheControl: oc.CacheControl})
	case "http":
		hc := origin.HTTPConfig{
			Host:             oc.Host,
			ConnectTimeout:   oc.ConnectTimeout.D(),
			ResponseTimeout:  oc.ResponseTimeout.D(),
			FailThreshold:    oc.FailThreshold,
			FailCooldown:     oc.FailCooldown.D(),
			FailoverStatuses: oc.FailoverStatuses,
			MaxHeaderBytes:   int(oc.MaxHeaderBytes),
		}
		for _, sv := range oc.Servers {
			hc.Servers = append(hc.Servers, origin.Server{
				URL: sv.URL, Priority: sv.Priority, Weight: sv.Weight,
				Host: sv.Host, SNI: sv.SNI, InsecureSkipVerify: sv.InsecureSkipVerify,
			})
		}
		o, err = origin.NewHTTP(hc)
	case "s3":
		s3 := oc.S3
		o, err = origin.NewS3(origin.S3Config{
			Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region,
			AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, SessionToken: s3.SessionToken,
			PathStyle: s3.PathStyle, Prefix: s3.Prefix,
			ConnectTimeout: oc.ConnectTimeout.D(), ResponseTimeout: oc.ResponseTimeout.D(),
			MaxHeaderBytes: int(oc.MaxHeaderBytes),
		})
	default:
		return nil, fmt.Errorf("origin: unknown type %q", oc.Type)
	}
	if err != nil {
		return nil, err
	}
	if oc.MaxConcurrent > 0 {
		o = origin.Limit(o, oc.MaxConcurrent, oc.MaxWait.D())
	}
	return o, nil
}
