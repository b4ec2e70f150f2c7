# Config errors: exit 2, and the message names the file, line, column and
# key, with a suggestion for typos.
source "$(dirname "$0")/lib.sh"

check_error() {  # check_error CONFIG_TEXT EXPECTED_SUBSTRING...
  local text=$1
  shift
  printf '%s\n' "$text" > bad.yaml
  local code=0
  "$ZOO" apply bad.yaml "$PHOTOS/baboon.jpg" > /dev/null 2> err.txt || code=$?
  [[ $code == 2 ]] || { cat err.txt; fail "expected exit 2, got $code for: $text"; }
  for want in "$@"; do
    grep -qF -- "$want" err.txt || { cat err.txt; fail "error message lacks '$want' for: $text"; }
  done
}

check_error $'entrypoint: resnet18\nimge_size: 224' 'bad.yaml:2:1' 'unknown key "imge_size"' 'did you mean "image_size"'
check_error $'entrypoint: resnet18\nimage_size: big' 'bad.yaml:2:13' '"image_size"' 'expected a positive integer'
check_error $'entrypoint: resnet18\nweights: nothere.pth' 'bad.yaml:2:10' '"weights"' 'file not found'
check_error $'entrypoint: resnet81' 'bad.yaml:1:13' 'unknown entrypoint "resnet81"' 'did you mean "resnet18"'
check_error $'entrypoint: resnet18\nentrypoint_args: {num_clases: 3}' 'bad.yaml:1:13' 'num_clases' 'did you mean "num_classes"'
check_error $'image_size: 64' 'missing key "entrypoint"'
check_error $'entrypoint: resnet18\nimage_mean: [0.5, 0.5]' 'bad.yaml:2:13' 'expected a list of 3 numbers'
check_error $'entrypoint: resnet18\nentrypoint: resnet34' 'given twice'
check_error $'entrypoint: resnet18\n  bad: [' 'invalid YAML'
check_error $'entrypoint: resnet18\ntransforms_fcn: foo' 'bad.yaml:2:1' 'not supported by zoo'
check_error $'entrypoint: resnet18\nclasses: [a, b]\nlabels_path: model.yaml' 'bad.yaml:3:14' 'give the labels once'
# NaN and infinities are no numbers a config can use.
check_error $'entrypoint: resnet18\nimage_std: [.nan, 1, 1]' 'bad.yaml:2:13' '"image_std"' 'expected a finite number, got ".nan"'
check_error $'entrypoint: resnet18\nconfidence_thresh: .inf' 'bad.yaml:2:20' '"confidence_thresh"' 'expected a finite number'
check_error $'entrypoint: resnet18\nentrypoint_args: {dropout: .nan}' 'bad.yaml:2:28' 'expected a finite number, got ".nan"'
# Two classes of one name (ImageNet's own list names two classes "crane"): a
# warning naming both places; zoo eval, which scores labels by name, refuses
# the model rather than count one class for the other.
head=$'entrypoint: resnet18\nentrypoint_args: {num_classes: 4}\nimage_size: [64, 64]\n'
printf '%s%s\n' "$head" 'classes: [cat, dog, bird, cat]' > dup-inline.yaml
expect_exit 0 "$ZOO" apply dup-inline.yaml "$PHOTOS/baboon.jpg" -q 2> err.txt > /dev/null
grep -q 'dup-inline.yaml:4:27: key "classes": "cat" is also class 0 (from 0)' err.txt || fail "$(cat err.txt)"
printf '%s%s\n' "$head" 'labels_string: "cat,dog,bird,dog"' > dup-string.yaml
expect_exit 0 "$ZOO" apply dup-string.yaml "$PHOTOS/baboon.jpg" -q 2> err.txt > /dev/null
grep -q 'key "labels_string": "dog" is also class 1 (from 0)' err.txt || fail "$(cat err.txt)"
printf 'cat\ndog\nbird\ndog\n' > dup-labels.txt
printf '%s%s\n' "$head" 'labels_path: dup-labels.txt' > dup-file.yaml
expect_exit 0 "$ZOO" apply dup-file.yaml "$PHOTOS/baboon.jpg" -q 2> err.txt > /dev/null
grep -q 'dup-labels.txt:4: the label "dog" is also on line 2' err.txt || fail "$(cat err.txt)"
mkdir -p truth/dog truth/cat
cp "$PHOTOS/baboon.jpg" truth/dog/
cp "$PHOTOS/fruits.jpg" truth/cat/
expect_exit 2 "$ZOO" eval dup-file.yaml --truth truth -q 2> err.txt
grep -q 'dup-labels.txt: classes 1 and 3 (from 0) are both named "dog": zoo eval scores labels by name' err.txt ||
  fail "$(cat err.txt)"
# A class count the model does not have: the message names the labels' source.
printf 'entrypoint: resnet18\nentrypoint_args: {num_classes: 4}\nimage_size: [64, 64]\nlabels_path: three.txt\n' > three.yaml
printf 'cat\ndog\nbird\n' > three.txt
expect_exit 2 "$ZOO" apply three.yaml "$PHOTOS/baboon.jpg" 2> err.txt
grep -q 'the model outputs 4 scores per image but three.txt lists 3 labels' err.txt || fail "$(cat err.txt)"
# Options take finite numbers only.
for option in "--confidence-thresh nan" "--fps inf" "--confidence-thresh -nan"; do
  # shellcheck disable=SC2086
  expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" $option 2> err.txt
  grep -q 'expected a finite number' err.txt || fail "$option: $(cat err.txt)"
done
expect_exit 2 "$ZOO" train model.yaml --data . --lr nan -o never 2> err.txt
grep -q 'expected a finite number' err.txt || fail "--lr nan: $(cat err.txt)"

expect_exit 2 "$ZOO" apply does-not-exist.yaml "$PHOTOS/baboon.jpg"
expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --batch-size 0
expect_exit 2 "$ZOO" apply model.yaml "$PHOTOS/baboon.jpg" --no-such-flag

# More labels than model outputs: a config error, found on the first batch.
printf 'entrypoint: resnet18\nentrypoint_args: {num_classes: 3}\nimage_size: 64\nclasses: [a, b]\n' > mismatch.yaml
expect_exit 2 "$ZOO" apply mismatch.yaml "$PHOTOS/baboon.jpg" -q

# A weights file that is not one: exit 1, naming the file.
echo "garbage" > bad.pth
printf 'entrypoint: resnet18\nweights: bad.pth\n' > badweights.yaml
code=0
"$ZOO" apply badweights.yaml "$PHOTOS/baboon.jpg" 2> err.txt || code=$?
[[ $code == 1 ]] || fail "bad weights: expected exit 1, got $code"
grep -q "bad.pth" err.txt || fail "bad weights: message does not name the file"

# Through a file: grep -q stops reading at the first match, and with
# pipefail the help's later writes would fail the pipeline (SIGPIPE).
"$ZOO" apply --help > help.txt
grep -q -- "--resume" help.txt || fail "--help does not list --resume"
echo ok
