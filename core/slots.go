package core

// slots parks values under small ids that travel through the kernel in a
// completion's user_data, reusing freed ids. The caller serialises access.
type slots[T any] struct {
	items []T
	used  []bool
	free  []int32
}

// put parks v and returns its id.
func (s *slots[T]) put(v T) int32 {
	if n := len(s.free); n > 0 {
		id := s.free[n-1]
		s.free = s.free[:n-1]
		s.items[id], s.used[id] = v, true
		return id
	}
	s.items = append(s.items, v)
	s.used = append(s.used, true)
	return int32(len(s.items) - 1)
}

// take removes and returns the value parked under id; ok is false for an id
// that holds nothing.
func (s *slots[T]) take(id int32) (v T, ok bool) {
	if id < 0 || int(id) >= len(s.items) || !s.used[id] {
		return v, false
	}
	v = s.items[id]
	var zero T
	s.items[id], s.used[id] = zero, false
	s.free = append(s.free, id)
	return v, true
}

// drain empties the table and returns what was parked in it.
func (s *slots[T]) drain() []T {
	var out []T
	for i, v := range s.items {
		if s.used[i] {
			out = append(out, v)
		}
	}
	*s = slots[T]{}
	return out
}
