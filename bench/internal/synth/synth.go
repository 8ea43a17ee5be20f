// Package synth is the synthetic catalogue the benchmarks read: the
// same videos and queries in bench/catalog and bench/events, so that their
// catalogue figures speak of the same reads.
package synth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/ginflix/ginflix"
	"github.com/ginflix/ginflix/sqlite"
)

var words = strings.Fields(`électricité énergie moteur cuisine jardin potager histoire géographie musique
	concert théâtre cinéma documentaire reportage science physique chimie biologie astronomie planète
	océan montagne forêt rivière voyage découverte technique atelier formation conférence entretien
	réunion sécurité réseau données logiciel matériel design architecture urbanisme transport vélo`)

// Categories are the videos' categories.
var Categories = []string{"Documentaires", "Formation", "Conférences", "Musique", "Sciences", "Voyages", "Cuisine", "Actualités"}

// Searches are typed as users type them, accents dropped: every prefix of
// every word from 3 letters, and pairs of words: a few hundred distinct
// queries, so the page cache misses as it would in real use.
func Searches(r *rand.Rand) []string {
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

// corpus draws text the way natural language is distributed: a Zipf law
// over a vocabulary of a few thousand words (synthetic syllable words, with
// the real accented words above spread through it), so common words are
// in most videos and rare words in a few, as in a real catalogue.
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
		vocab[i*size/len(words)] = w // ranks 0, size/45, ...: from very common to rare
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

// Seed creates n ready videos, one in ten a draft as in real catalogues,
// lasting 1 minute to maxDuration, with the three-rung ladder and random
// view counts, and passes each to created (which may be nil).
func Seed(ctx context.Context, db *sqlite.DB, n int, maxDuration time.Duration, created func(*ginflix.Video)) error {
	r := rand.New(rand.NewPCG(1, 2))
	c := newCorpus(r, 5000)
	spread := max(int(maxDuration.Seconds())-60, 1)
	for i := range n {
		v := &ginflix.Video{
			Title:       c.phrase(3 + r.IntN(5)),
			Description: c.phrase(20+r.IntN(40)) + ".",
			Tags:        []string{c.word(), c.word()},
			Category:    Categories[r.IntN(len(Categories))],
			Language:    "fr",
			Status:      ginflix.StatusReady,
			Published:   r.IntN(10) != 0,
			Duration:    float64(60 + r.IntN(spread)),
			Width:       1920, Height: 1080,
			Renditions: []ginflix.Rendition{
				{Name: "1080p", Width: 1920, Height: 1080, Bandwidth: 5_500_000},
				{Name: "720p", Width: 1280, Height: 720, Bandwidth: 3_000_000},
				{Name: "360p", Width: 640, Height: 360, Bandwidth: 900_000},
			},
			Views: int64(r.IntN(100000)),
		}
		if err := db.CreateVideo(ctx, v); err != nil {
			return err
		}
		if created != nil {
			created(v)
		}
		if (i+1)%2500 == 0 {
			fmt.Fprintf(os.Stderr, "  seeded %d videos\n", i+1)
		}
	}
	return nil
}
