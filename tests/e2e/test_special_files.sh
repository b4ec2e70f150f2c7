# Inputs that are not regular files (a FIFO named like an image or a video,
# on the command line or inside a folder, or as a config's weights or
# labels) are refused without being opened for reading, so they cannot hang
# the run: an error record for an input, a config error for a config's
# file. Every command runs under a timeout: a hang fails the test.
source "$(dirname "$0")/lib.sh"

mkdir -p photos
cp "$PHOTOS/baboon.jpg" photos/a_baboon.jpg
cp "$PHOTOS/fruits.jpg" photos/c_fruits.jpg
mkfifo photos/b_pipe.jpg clip.avi named.png noextension weights.pth labels.txt

# In a folder and on the command line: error records, the rest labelled, exit 3.
expect_exit 3 timeout -k 5 60 "$ZOO" apply model.yaml photos named.png clip.avi noextension -o out.jsonl 2> err.txt
cat err.txt
jsonl_check out.jsonl "[r['filepath'] for r in records] == ['photos/a_baboon.jpg', 'photos/b_pipe.jpg', 'photos/c_fruits.jpg', 'named.png', 'clip.avi', 'noextension']"
jsonl_check out.jsonl "[r.get('error', '') for r in records][1] == 'is a FIFO (named pipe), not an image file'"
jsonl_check out.jsonl "[r.get('error', '') for r in records][3] == 'is a FIFO (named pipe), not an image file'"
jsonl_check out.jsonl "[r.get('error', '') for r in records][4] == 'is a FIFO (named pipe), not a video file'"
# Without an extension, a file is a video only if it starts like one: a FIFO is not read to find out.
jsonl_check out.jsonl "[r.get('error', '') for r in records][5] == 'is a FIFO (named pipe), not an image file'"
jsonl_check out.jsonl "all('predictions' in r for r in records if r['filepath'].startswith('photos/a') or r['filepath'].startswith('photos/c'))"
grep -q "photos/b_pipe.jpg: is a FIFO" err.txt || fail "no stderr line for the FIFO in the folder"

# zoo embed: the FIFO is a line of the error log, not a row.
expect_exit 3 timeout -k 5 60 "$ZOO" embed model.yaml photos -o emb.npy -q
[[ $(count_lines emb.paths.txt) == 2 ]] || fail "expected 2 rows, got $(count_lines emb.paths.txt)"
jsonl_check emb.errors.jsonl "[r['filepath'] for r in records] == ['photos/b_pipe.jpg'] and 'FIFO' in records[0]['error']"

# A config naming a FIFO as its weights or labels: a config error naming the key.
printf 'entrypoint: resnet18\nweights: weights.pth\n' > fifo-weights.yaml
expect_exit 2 timeout -k 5 60 "$ZOO" apply fifo-weights.yaml photos -q 2> err.txt
grep -q 'fifo-weights.yaml:2:10: key "weights": is a FIFO (named pipe), not a file' err.txt || fail "$(cat err.txt)"
printf 'entrypoint: resnet18\nlabels_path: labels.txt\n' > fifo-labels.yaml
expect_exit 2 timeout -k 5 60 "$ZOO" apply fifo-labels.yaml photos -q 2> err.txt
grep -q 'key "labels_path": is a FIFO (named pipe), not a file' err.txt || fail "$(cat err.txt)"

# zoo upload of a FIFO: refused as what it is.
expect_exit 1 timeout -k 5 60 "$ZOO" upload weights.pth --name fifo --store store -q 2> err.txt
grep -q 'weights.pth: is a FIFO (named pipe), not a model file' err.txt || fail "$(cat err.txt)"

# A symlink loop is a loop, not a missing file: in a folder, named, and as weights.
mkdir loops
ln -s b.jpg loops/a.jpg
ln -s a.jpg loops/b.jpg
expect_exit 3 timeout -k 5 60 "$ZOO" apply model.yaml loops loops/a.jpg -o loops.jsonl -q
jsonl_check loops.jsonl "len(records) == 3 and all(r['error'] == 'cannot read: Too many levels of symbolic links' for r in records)"
ln -s loop.pth loop.pth
printf 'entrypoint: resnet18\nweights: loop.pth\n' > loop-weights.yaml
expect_exit 2 timeout -k 5 60 "$ZOO" apply loop-weights.yaml photos -q 2> err.txt
grep -q 'key "weights": cannot read: Too many levels of symbolic links' err.txt || fail "$(cat err.txt)"
echo ok
