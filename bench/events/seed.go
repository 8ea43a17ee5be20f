package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/sqlite"
)

// The catalogue is bench/catalog's (same words, Zipf corpus, queries), so
// that the catalogue figures of both benchmarks speak of the same reads.

var (
	words = strings.Fields(`électricité énergie moteur cuisine jardin potager histoire géographie musique
		concert théâtre cinéma documentaire reportage science physique chimie biologie astronomie planète
		océan montagne forêt rivière voyage découverte technique atelier formation conférence entretien
		réunion sécurité réseau données logiciel matériel design architecture urbanisme transport vélo`)
	categories = []string{"Documentaires", "Formation", "Conférences", "Musique", "Sciences", "Voyages", "Cuisine", "Actualités"}
)

// searches are typed as users type them, accents dropped: every prefix of
// every word from 3 letters, and pairs of words.
func searches(r *rand.Rand) []string {
	var out []string
	for _, w := range words {
		f := []rune(ginflix.FoldText(w))
		for n := 3; n <= len(f); n++ {
			out = append(out, string(f[:n]))
		}
	}
	for range 100 {
		out = append(out, ginflix.FoldText(words[r.IntN(len(words))]+" "+words[r.IntN(len(words))]))
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// corpus draws text with a Zipf law over a vocabulary of a few thousand
// words, the accented words above spread through it.
type corpus struct {
	vocab []string
	zipf  *rand.Zipf
}

func newCorpus(r *rand.Rand, size int) *corpus {
	syllables := strings.Fields("ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo la le li lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu")
	seen := map[string]bool{}
	vocab := make([]string, 0, size)
	for len(vocab) < size {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syllables[r.IntN(len(syllables))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	for i, w := range words {
		vocab[i*size/len(words)] = w
	}
	return &corpus{vocab: vocab, zipf: rand.NewZipf(r, 1.07, 2, uint64(size-1))}
}

func (c *corpus) word() string { return c.vocab[c.zipf.Uint64()] }

func (c *corpus) phrase(n int) string {
	out := make([]string, n)
	for i := range out {
		out[i] = c.word()
	}
	s := strings.Join(out, " ")
	return strings.ToUpper(s[:1]) + s[1:]
}

// seed creates n ready videos, 10% of them drafts, and returns the
// published ones. Durations are 1 to 30 minutes, so that at 10x many
// sessions reach the end (and a new session) within a phase; every video
// has the three-rung ladder the players switch between.
func seed(ctx context.Context, db *sqlite.DB, n int) ([]videoRec, error) {
	r := rand.New(rand.NewPCG(1, 2))
	c := newCorpus(r, 5000)
	var out []videoRec
	for i := range n {
		v := &ginflix.Video{
			Title:       c.phrase(3 + r.IntN(5)),
			Description: c.phrase(20+r.IntN(40)) + ".",
			Tags:        []string{c.word(), c.word()},
			Category:    categories[r.IntN(len(categories))],
			Language:    "fr",
			Status:      ginflix.StatusReady,
			Published:   r.IntN(10) != 0,
			Duration:    float64(60 + r.IntN(1740)),
			Width:       1920, Height: 1080,
			Renditions: []ginflix.Rendition{
				{Name: "1080p", Width: 1920, Height: 1080, Bandwidth: 5_500_000},
				{Name: "720p", Width: 1280, Height: 720, Bandwidth: 3_000_000},
				{Name: "360p", Width: 640, Height: 360, Bandwidth: 900_000},
			},
		}
		if err := db.CreateVideo(ctx, v); err != nil {
			return nil, err
		}
		if v.Published {
			out = append(out, videoRec{ID: v.ID, Duration: v.Duration})
		}
		if (i+1)%2500 == 0 {
			fmt.Fprintf(os.Stderr, "  seeded %d videos\n", i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no published video among %d", n)
	}
	return out, nil
}
