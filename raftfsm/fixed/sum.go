package fixed

import "fmt"

// Sum is an overflow-checked accumulator. The zero value is an empty sum.
// Overflow is sticky: once any step overflows, Result reports ErrOverflow
// even if later terms would bring the total back in range.
type Sum struct {
	v        Dec
	overflow bool
	n        int // terms added, for the error message
}

// Add adds d to the sum.
func (s *Sum) Add(d Dec) {
	s.n++
	if s.overflow {
		return
	}
	v, err := Add(s.v, d)
	if err != nil {
		s.overflow = true
		return
	}
	s.v = v
}

// Sub subtracts d from the sum.
func (s *Sum) Sub(d Dec) {
	s.n++
	if s.overflow {
		return
	}
	v, err := Sub(s.v, d)
	if err != nil {
		s.overflow = true
		return
	}
	s.v = v
}

// Result returns the total, or ErrOverflow if any step overflowed.
func (s *Sum) Result() (Dec, error) {
	if s.overflow {
		return 0, fmt.Errorf("%w: sum of %d terms", ErrOverflow, s.n)
	}
	return s.v, nil
}
