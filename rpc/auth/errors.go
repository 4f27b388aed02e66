package auth

import "errors"

// Sentinel errors of the package; wrapped with context, test with errors.Is.
var (
	// ErrMissingToken: the call carries no token.
	ErrMissingToken = errors.New("auth: missing token")
	// ErrMalformedToken: the token is not of the v1 form.
	ErrMalformedToken = errors.New("auth: malformed token")
	// ErrUnknownKey: the token names a key ID the verifier does not hold.
	ErrUnknownKey = errors.New("auth: unknown key ID")
	// ErrBadSignature: the signature does not match (forged or altered token).
	ErrBadSignature = errors.New("auth: bad token signature")
	// ErrExpired: the token's expiry has passed.
	ErrExpired = errors.New("auth: token expired")
	// ErrUnknownRole: the role is not one of the known roles.
	ErrUnknownRole = errors.New("auth: unknown role")
	// ErrForbidden: the identity may not make this call.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrRateLimited: the identity exceeded its rate limit.
	ErrRateLimited = errors.New("auth: rate limited")
	// ErrKeyFile: the key file (or a key) is invalid.
	ErrKeyFile = errors.New("auth: invalid key file")
	// ErrMint: a token cannot be minted from these arguments.
	ErrMint = errors.New("auth: cannot mint token")
)

// errNotCanonical: a base64 field decodes, but is not in its one canonical form.
var errNotCanonical = errors.New("auth: base64 not in canonical form")
