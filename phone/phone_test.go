package phone

import (
	"errors"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// example returns the library's own valid example of a type, in E.164, so the
// tests follow the numbering plans as the metadata is updated.
func example(t *testing.T, region string, typ phonenumbers.PhoneNumberType) string {
	t.Helper()
	n := phonenumbers.GetExampleNumberForType(region, typ)
	if n == nil {
		t.Fatalf("no example number of type %v for %s", typ, region)
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

func TestParseAccepts(t *testing.T) {
	esMobile := example(t, "ES", phonenumbers.MOBILE)
	gbMobile := example(t, "GB", phonenumbers.MOBILE)
	esFree := example(t, "ES", phonenumbers.TOLL_FREE)
	esPremium := example(t, "ES", phonenumbers.PREMIUM_RATE)
	esShared := example(t, "ES", phonenumbers.SHARED_COST)
	last4 := func(e164 string) string { return e164[len(e164)-4:] }
	tests := []struct {
		raw, region string
		policy      Policy
		want        Number
	}{
		{"+34 911 23 45 67", "US", Policy{}, Number{"+34911234567", "ES", "fixed-line", "4567"}},
		{"0034911234567", "ES", Policy{}, Number{"+34911234567", "ES", "fixed-line", "4567"}},
		{"0034911234567", "US", Policy{}, Number{"+34911234567", "ES", "fixed-line", "4567"}},
		{"011 34 911 234 567", "US", Policy{}, Number{"+34911234567", "ES", "fixed-line", "4567"}},
		{"911 23 45 67", "es", Policy{}, Number{"+34911234567", "ES", "fixed-line", "4567"}},
		{"(202) 555-0143", "US", Policy{}, Number{"+12025550143", "US", "fixed-line-or-mobile", "0143"}},
		{"  202.555.0143 ", "US", Policy{AllowedRegions: []string{"us", "CA"}}, Number{"+12025550143", "US", "fixed-line-or-mobile", "0143"}},
		{esMobile, "", Policy{AllowedRegions: []string{"ES"}}, Number{esMobile, "ES", "mobile", last4(esMobile)}},
		{gbMobile, "ES", Policy{}, Number{gbMobile, "GB", "mobile", last4(gbMobile)}},
		{esFree, "ES", Policy{}, Number{esFree, "ES", "toll-free", last4(esFree)}},
		{esPremium, "ES", Policy{AllowPremium: true}, Number{esPremium, "ES", "premium-rate", last4(esPremium)}},
		{esShared, "ES", Policy{AllowSharedCost: true}, Number{esShared, "ES", "shared-cost", last4(esShared)}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region, tt.policy)
			if err != nil {
				t.Fatalf("Parse(%q, %q): %v", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q, %q) = %+v, want %+v", tt.raw, tt.region, got, tt.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	esPremium := example(t, "ES", phonenumbers.PREMIUM_RATE)
	esShared := example(t, "ES", phonenumbers.SHARED_COST)
	frFixed := example(t, "FR", phonenumbers.FIXED_LINE)
	tests := []struct {
		raw, region string
		policy      Policy
		want        error
		msg         string
	}{
		{"", "ES", Policy{}, ErrEmpty, "no phone number given"},
		{"   ", "ES", Policy{}, ErrEmpty, "no phone number given"},
		{"12345", "ES", Policy{}, ErrInvalid, `"12345": not a valid phone number`},
		{"hello", "ES", Policy{}, ErrInvalid, `"hello": not a valid phone number`},
		{"911234567", "", Policy{}, ErrInvalid, `"911234567": not a valid phone number`},
		{"911234567", "XX", Policy{}, ErrInvalid, `"911234567": not a valid phone number`},
		{"+1 202 555 0143 ext 12", "US", Policy{}, ErrInvalid, `"+1 202 555 0143 ext 12": not a valid phone number`},
		{"+34 911 23 45 6", "ES", Policy{}, ErrInvalid, `"+34 911 23 45 6": not a valid phone number`},
		{esPremium, "ES", Policy{}, ErrPremium, esPremium + ": premium-rate numbers are not called back"},
		{esPremium, "ES", Policy{AllowSharedCost: true}, ErrPremium, esPremium + ": premium-rate numbers are not called back"},
		{esShared, "ES", Policy{AllowPremium: true}, ErrSharedCost, esShared + ": shared-cost numbers are not called back"},
		{frFixed, "ES", Policy{AllowedRegions: []string{"ES", "PT"}}, ErrRegion, frFixed + ": numbers in FR are not called back"},
		{esPremium, "ES", Policy{AllowPremium: true, AllowedRegions: []string{"PT"}}, ErrRegion, esPremium + ": numbers in ES are not called back"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := Parse(tt.raw, tt.region, tt.policy)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want %v", tt.raw, tt.region, got, err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if err.Error() != tt.msg {
				t.Errorf("message %q, want %q", err.Error(), tt.msg)
			}
			if got != (Number{}) {
				t.Errorf("refused number returned %+v", got)
			}
		})
	}
}

func TestIsRegion(t *testing.T) {
	for code, want := range map[string]bool{"ES": true, "us": true, "GB": true, "UK": false, "XX": false, "": false, "001": false} {
		if got := IsRegion(code); got != want {
			t.Errorf("IsRegion(%q) = %v, want %v", code, got, want)
		}
	}
}
