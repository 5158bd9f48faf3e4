package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// InitialAge is RFC 9111 4.2.3's corrected_initial_age, computed once when a response arrives:
//
//	apparent_age          = max(0, response_time - date_value)
//	response_delay        = response_time - request_time
//	corrected_age_value   = age_value + response_delay
//	corrected_initial_age = max(apparent_age, corrected_age_value)
//
// The current age is then InitialAge + (now - responseTime). A missing or invalid Date makes the
// apparent age 0 (the Date is the receipt time, RFC 9110 6.6.1); of an Age sent as a list or on
// several lines the first member counts (RFC 9111 5.1), and a missing or invalid one is 0;
// an Age past 2^31 s saturates (RFC 9111 1.2.2). A negative response delay (clock step) counts as 0.
func InitialAge(respHeader http.Header, requestTime, responseTime time.Time) time.Duration {
	var apparent time.Duration
	if date, err := http.ParseTime(respHeader.Get("Date")); err == nil {
		apparent = max(responseTime.Sub(date), 0)
	}
	ageValue, ok := parseDelta(firstMember(respHeader.Get("Age")))
	if !ok {
		ageValue = 0
	}
	delay := max(responseTime.Sub(requestTime), 0)
	return max(apparent, ageValue+delay)
}

// firstMember is the first member of a list-based field value (RFC 9110 5.6.1).
func firstMember(v string) string {
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	return trimOWS(v)
}
