// Package phone decides whether a number a customer gave us is one vhold will
// call back, and puts it in the one form (E.164) the rest of vhold stores and
// dials.
//
// The refusals are typed (ErrEmpty, ErrInvalid, ErrPremium, ErrSharedCost,
// ErrRegion) because two very different callers need to act on them: the web
// API answers 400 with a reason, and the IVR plays a prompt and lets the caller
// key the number again.
package phone

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// The reasons a number is refused; match them with errors.Is.
var (
	ErrEmpty      = errors.New("no phone number given")
	ErrInvalid    = errors.New("not a valid phone number")
	ErrPremium    = errors.New("premium-rate numbers are not called back")
	ErrSharedCost = errors.New("shared-cost numbers are not called back")
	ErrRegion     = errors.New("numbers in this country are not called back")
)

// Error is a refused number. It carries what the customer gave (or the E.164
// form once known) so logs and API answers can say which number was refused.
type Error struct {
	// Number is the input as given for ErrEmpty and ErrInvalid, the E.164
	// form otherwise.
	Number string
	// Region is the number's region (ISO 3166 code) when it is known.
	Region string
	// Err is one of the package's sentinel errors.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Err == ErrEmpty:
		return e.Err.Error()
	case e.Err == ErrRegion && e.Region != "":
		return fmt.Sprintf("%s: numbers in %s are not called back", e.Number, e.Region)
	case e.Err == ErrInvalid:
		return fmt.Sprintf("%q: %v", e.Number, e.Err)
	}
	return e.Number + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Policy says which valid numbers a queue calls back. The zero value allows
// every region and refuses the numbers that cost us to call.
type Policy struct {
	// AllowedRegions lists ISO 3166 region codes ("ES", "PT"); empty allows
	// any region.
	AllowedRegions []string
	// AllowPremium allows premium-rate numbers, which are refused by default
	// because calling one can be a toll fraud.
	AllowPremium bool
	// AllowSharedCost allows shared-cost numbers (902 in Spain, 084 in the
	// UK), refused by default for the same reason on a smaller scale.
	AllowSharedCost bool
}

// Number is a callback number that passed the policy.
type Number struct {
	// E164 is the form stored and dialed: "+34911234567".
	E164 string
	// Region is the ISO 3166 region code ("ES"), or "001" for non-geographic
	// numbers.
	Region string
	// Type is the kind of line: "fixed-line", "mobile", "fixed-line-or-mobile",
	// "toll-free", "premium-rate", "shared-cost", "voip", "personal", "pager",
	// "uan", "voicemail" or "unknown".
	Type string
	// Last4 is the last four digits, for a confirmation such as "the number
	// ending in 4321".
	Last4 string
}

func (n Number) String() string { return n.E164 }

var typeNames = map[phonenumbers.PhoneNumberType]string{
	phonenumbers.FIXED_LINE:           "fixed-line",
	phonenumbers.MOBILE:               "mobile",
	phonenumbers.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
	phonenumbers.TOLL_FREE:            "toll-free",
	phonenumbers.PREMIUM_RATE:         "premium-rate",
	phonenumbers.SHARED_COST:          "shared-cost",
	phonenumbers.VOIP:                 "voip",
	phonenumbers.PERSONAL_NUMBER:      "personal",
	phonenumbers.PAGER:                "pager",
	phonenumbers.UAN:                  "uan",
	phonenumbers.VOICEMAIL:            "voicemail",
	phonenumbers.UNKNOWN:              "unknown",
}

// Parse validates raw, read as a number dialed from defaultRegion (an ISO 3166
// code such as "ES"; it is only needed when raw has no international prefix),
// and checks it against p. Spaces, dashes, dots and parentheses are ignored;
// "+34…", "0034…" and the region's own international prefix ("011" in the US)
// are all understood. "00" is accepted as an international prefix even where
// the region's own differs, since that is how most of the world writes it.
//
// A refused number returns an *Error wrapping one of the package's sentinel
// errors.
func Parse(raw, defaultRegion string, p Policy) (Number, error) {
	in := strings.TrimSpace(raw)
	if in == "" {
		return Number{}, &Error{Number: raw, Err: ErrEmpty}
	}
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	num, ok := parseValid(in, region)
	if !ok {
		if digits := phonenumbers.NormalizeDigitsOnly(in); strings.HasPrefix(digits, "00") {
			num, ok = parseValid("+"+digits[2:], region)
		}
	}
	if !ok {
		return Number{}, &Error{Number: in, Err: ErrInvalid}
	}

	n := Number{
		E164:   phonenumbers.Format(num, phonenumbers.E164),
		Region: phonenumbers.GetRegionCodeForNumber(num),
	}
	typ := phonenumbers.GetNumberType(num)
	n.Type = typeNames[typ]
	n.Last4 = n.E164[max(len(n.E164)-4, 1):]

	switch {
	case typ == phonenumbers.PREMIUM_RATE && !p.AllowPremium:
		return Number{}, &Error{Number: n.E164, Region: n.Region, Err: ErrPremium}
	case typ == phonenumbers.SHARED_COST && !p.AllowSharedCost:
		return Number{}, &Error{Number: n.E164, Region: n.Region, Err: ErrSharedCost}
	}
	if len(p.AllowedRegions) > 0 && !slices.ContainsFunc(p.AllowedRegions, func(r string) bool {
		return strings.EqualFold(r, n.Region)
	}) {
		return Number{}, &Error{Number: n.E164, Region: n.Region, Err: ErrRegion}
	}
	return n, nil
}

// parseValid refuses numbers with an extension: a callback dials the line, and
// nobody would key the extension for the customer.
func parseValid(s, region string) (*phonenumbers.PhoneNumber, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil || num.GetExtension() != "" || !phonenumbers.IsValidNumber(num) {
		return nil, false
	}
	return num, true
}

// IsRegion reports whether code is an ISO 3166 region code that numbers are
// known for, so configuration can refuse a misspelt country up front.
func IsRegion(code string) bool {
	return phonenumbers.GetSupportedRegions()[strings.ToUpper(code)]
}
