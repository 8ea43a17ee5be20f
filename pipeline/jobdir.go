package pipeline

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// A job's scratch directory holds a lock file, locked while the job runs.
// The kernel releases the lock when the process dies, however it dies, so
// a directory whose lock can be taken belongs to nobody: a killed worker's
// leftovers (a copy of the original and a whole ladder, often gigabytes)
// that sweepJobDirs removes, without touching the running jobs of other
// processes sharing the directory. A directory without the lock file is
// left alone: it may be another program's (the default is the system's
// temporary directory), or an empty one a crash left between the mkdir
// and the lock.
const (
	jobDirPrefix = "job-"
	lockName     = ".ginflix-job.lock"
)

// makeJobDir creates and locks a scratch directory for jobID; release
// removes it and drops the lock.
func makeJobDir(tempDir, jobID string) (dir string, release func(), err error) {
	dir, err = os.MkdirTemp(tempDir, jobDirPrefix+jobID+"-")
	if err != nil {
		return "", nil, err
	}
	lock, err := lockFile(filepath.Join(dir, lockName), true)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() {
		os.RemoveAll(dir)
		lock.Close()
	}, nil
}

// sweepJobDirs removes the job directories in tempDir that no living
// process holds, and says how many and how much it freed.
func sweepJobDirs(tempDir string, log *slog.Logger) {
	entries, err := os.ReadDir(tempDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			log.Warn("looking for abandoned job directories", "dir", tempDir, "err", err)
		}
		return
	}
	removed, freed := 0, int64(0)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), jobDirPrefix) {
			continue
		}
		dir := filepath.Join(tempDir, e.Name())
		lock, err := lockFile(filepath.Join(dir, lockName), false)
		switch {
		case errors.Is(err, errLocked), errors.Is(err, fs.ErrNotExist):
			continue // a running job, here or in another process; or not ours
		case err != nil:
			log.Warn("checking a job directory", "dir", dir, "err", err)
			continue
		}
		size := dirSize(dir)
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("removing an abandoned job directory", "dir", dir, "err", err)
		} else {
			removed++
			freed += size
		}
		lock.Close()
	}
	if removed > 0 {
		log.Info("removed the scratch directories of jobs whose worker died", "dir", tempDir, "directories", removed, "bytes", freed)
	}
}

func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
