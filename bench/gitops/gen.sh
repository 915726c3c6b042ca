#!/usr/bin/env bash
# gen.sh builds the synthetic repository that the gitops benchmark measures:
#   - 25,000 commits on main (some of them merges), ~2,000 text files in
#     40 directories plus 50 binary files;
#   - a branch "pr" that forked from main 5,000 commits ago and has 10
#     commits of its own (edits, additions, a rename, a binary file);
#   - over those last 5,000 commits main edits a hot set of 400 files,
#     renames some of them and rewrites binary files, so that the head of
#     pr differs from main in several hundred files, renames and binary
#     files among them.
# The stream is generated with awk (deterministic, fixed seed) and loaded
# with git fast-import, then repacked as a server would keep it.
#
# usage: bench/gitops/gen.sh [DIR]   (default /tmp/fiveaxis-bench-repo)
set -euo pipefail

dir=${1:-/tmp/fiveaxis-bench-repo}
commits=${COMMITS:-25000}
behind=${BEHIND:-5000}

export LC_ALL=C GIT_CONFIG_NOSYSTEM=1 HOME=${TMPDIR:-/tmp}
rm -rf "$dir"
git init -q --bare -b main "$dir"
cd "$dir"

# Binary blobs (a NUL byte up front), stored before the stream refers to them.
bins=$(mktemp)
trap 'rm -f "$bins"' EXIT
for i in $(seq 1 400); do
	{ printf 'BIN\0\001\002'; for j in $(seq 1 20); do printf 'chunk %d of blob %d\0' "$j" "$i"; done; } |
		git hash-object -w --stdin >>"$bins"
done

awk -v commits="$commits" -v behind="$behind" -v binfile="$bins" '
function rnd(n) { return int(rand() * n) }
function content(f,   s, i) {
	s = ""
	for (i = 1; i <= nl[f]; i++) s = s line[f, i] "\n"
	return s
}
function emitfile(f,   c) {
	c = content(f)
	printf "M 100644 inline %s\ndata %d\n%s\n", path[f], length(c), c
}
function edit(f,   k, i, n, at) {
	k = rnd(4)
	if (k == 0 || nl[f] < 10) {            # append a few lines
		n = 1 + rnd(4)
		for (i = 1; i <= n; i++) line[f, nl[f] + i] = sprintf("appended %d in %d", i, mark)
		nl[f] += n
	} else if (k == 1) {                    # delete a line
		at = 1 + rnd(nl[f])
		for (i = at; i < nl[f]; i++) line[f, i] = line[f, i + 1]
		nl[f]--
	} else {                                # replace one to three lines
		n = 1 + rnd(3)
		at = 1 + rnd(nl[f] - n)
		for (i = at; i < at + n; i++) line[f, i] = sprintf("\tvalue := compute(%d, %d) // edited", mark, i)
	}
}
function header(ref, msg) {
	mark++
	printf "commit %s\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", ref, mark, 1600000000 + mark * 60, length(msg), msg
}
BEGIN {
	srand(42)
	while ((getline b < binfile) > 0) bin[++nbin] = b
	nfiles = 2000
	for (f = 1; f <= nfiles; f++) {
		path[f] = sprintf("pkg%02d/file%04d.go", f % 40, f)
		nl[f] = 40 + rnd(160)
		line[f, 1] = sprintf("package pkg%02d", f % 40)
		for (i = 2; i <= nl[f]; i++) {
			r = rnd(10)
			if (r == 0) line[f, i] = ""
			else if (r == 1) line[f, i] = "}"
			else if (r == 2) line[f, i] = sprintf("func F%d_%d() {", f, i)
			else line[f, i] = sprintf("\tx%d := %d // file %d", i, rnd(100000), f)
		}
	}
	nside = 20
	for (s = 1; s <= nside; s++) sidelines[s] = 1
	nbinfiles = 50

	# Root commit with every file.
	header("refs/heads/main", "initial import")
	for (f = 1; f <= nfiles; f++) emitfile(f)
	for (b = 1; b <= nbinfiles; b++) printf "M 100644 %s assets/img%02d.bin\n", bin[b], b
	for (s = 1; s <= nside; s++) printf "M 100644 inline side/s%02d.txt\ndata 7\nside 1\n\n", s
	main = mark
	fork = commits - behind
	nextbin = nbinfiles + 1
	renamed = 0

	for (c = 2; c <= commits; c++) {
		late = (c > fork)
		if (c % 1000 == 500) {
			# A side branch of one commit, merged back.
			s = 1 + rnd(nside)
			header("refs/heads/side", "side work " c)
			printf "from :%d\n", main - 5
			sidelines[s]++
			sc = ""
			for (i = 1; i <= sidelines[s]; i++) sc = sc "side " i "\n"
			printf "M 100644 inline side/s%02d.txt\ndata %d\n%s\n", s, length(sc), sc
			sidemark = mark
			header("refs/heads/main", "merge side " c)
			printf "from :%d\nmerge :%d\n", main, sidemark
			printf "M 100644 inline side/s%02d.txt\ndata %d\n%s\n", s, length(sc), sc
			main = mark
			continue
		}
		header("refs/heads/main", "change " c)
		printf "from :%d\n", main
		n = 1 + rnd(3)
		for (j = 1; j <= n; j++) {
			f = late ? 1 + rnd(400) : 1 + rnd(nfiles)
			edit(f)
			emitfile(f)
		}
		if (late && c % 100 == 0) {             # rename an edited hot file
			f = 1 + rnd(400)
			old = path[f]
			path[f] = sprintf("moved/r%05d_%s", c, substr(old, index(old, "/") + 1))
			printf "D %s\n", old
			edit(f)
			emitfile(f)
		}
		if (late && c % 100 == 50) {            # rewrite a binary file
			printf "M 100644 %s assets/img%02d.bin\n", bin[nextbin], 1 + rnd(nbinfiles)
			nextbin = nextbin < nbin ? nextbin + 1 : nbinfiles + 1
		}
		main = mark
		if (c == fork) forkmark = mark
	}
	printf "reset refs/heads/main\nfrom :%d\n\n", main

	# The pull request: 10 commits on top of the fork point.
	prev = forkmark
	for (p = 1; p <= 10; p++) {
		header("refs/heads/pr", "pr change " p)
		printf "from :%d\n", prev
		f = 1 + rnd(600)
		edit(f)
		emitfile(f)
		if (p == 3) printf "M 100644 inline pr/new.go\ndata 27\npackage pr\n\nfunc New() {}\n\n"
		if (p == 5) { old = path[1500]; path[1500] = "pr/renamed.go"; printf "D %s\n", old; emitfile(1500) }
		if (p == 7) printf "M 100644 %s assets/pr.bin\n", bin[nbin]
		prev = mark
	}
}
' | git fast-import --quiet

git update-ref -d refs/heads/side
git repack -q -a -d -f --window=10 --depth=50
git prune-packed
git commit-graph write --reachable --no-progress
echo "repository: $dir"
echo "commits on main: $(git rev-list --count main)"
echo "pr: $(git rev-list --left-right --count main...pr | awk '{print $1 " behind, " $2 " ahead"}')"
echo "files at main: $(git ls-tree -r main | wc -l)"
echo "main vs pr: $(git diff --shortstat main pr)"
echo "renames main..pr: $(git diff --name-status main pr | grep -c '^R' || true)"
echo "binary files main..pr: $(git diff --numstat main pr | grep -c '^-' || true)"
