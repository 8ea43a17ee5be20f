package ginflix

import (
	"encoding/base64"
	"encoding/json"
)

// Cursor is the position after the last video of a page, in the order of
// its sort. Both stores encode it the same way, so a client never learns
// which store answered.
type Cursor struct {
	Sort  VideoSort `json:"s"`
	ID    string    `json:"i"`
	Time  int64     `json:"t,omitempty"` // CreatedAt in Unix milliseconds, for newest
	Views int64     `json:"v,omitempty"` // for most_viewed
	Title string    `json:"k,omitempty"` // folded title, for title
	// Pos is a store's own position, when it has a cheaper one than the
	// fields above (SQLite: the row's insertion sequence, for newest).
	Pos int64 `json:"p,omitempty"`
}

// CursorAfter returns the cursor that follows v in sort order s.
func CursorAfter(s VideoSort, v *Video) Cursor {
	c := Cursor{Sort: s, ID: v.ID}
	switch s {
	case SortNewest:
		c.Time = v.CreatedAt.UnixMilli()
	case SortMostViewed:
		c.Views = v.Views
	case SortTitle:
		c.Title = FoldText(v.Title)
	}
	return c
}

// Encode returns the opaque form of c.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses an opaque cursor made for sort s.
func DecodeCursor(s string, sort VideoSort) (Cursor, error) {
	var c Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || !ValidID(c.ID) {
		return c, InvalidParam("cursor", "The cursor is not one this server made.")
	}
	if c.Sort != sort {
		return c, InvalidParam("cursor", "The cursor was made for another sort order.")
	}
	return c, nil
}
