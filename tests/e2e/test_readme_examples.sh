# Every command in the README's ```sh blocks runs as written (from a copy of
# the repository's configs and examples, with the demo model made here),
# and exits 0.
source "$(dirname "$0")/lib.sh"
export ZOO_STORE="$WORK/store" ZOO_CACHE_DIR="$WORK/cache"  # never the user's own store

cp -r "$ZOO_SOURCE_DIR/configs" configs
cp -r "$ZOO_SOURCE_DIR/examples" examples
# The pretrained TensorFlow.js models, where the configs look for them.
"$ZOO_SOURCE_DIR/scripts/setup-tfjs.sh" "$(dirname "$ZOO")/tfjs" > /dev/null
mkdir -p build && ln -sfn "$(dirname "$ZOO")/tfjs" build/tfjs
/usr/bin/python3 "$ZOO_SOURCE_DIR/scripts/make-demo-model.py" models/resnet18-demo.pt
/usr/bin/python3 - "$ZOO_SOURCE_DIR/README.md" > commands.txt <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for block in re.findall(r"```sh\n(.*?)```", text, re.S):
    for line in block.splitlines():
        line = line.split("  #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("./scripts/demo.sh") or line.startswith("./scripts/test.sh"):
            continue  # the set-up commands: they are what runs this test
        print(line)
PY
[[ $(count_lines commands.txt) -ge 5 ]] || fail "found only $(count_lines commands.txt) README commands"
while IFS= read -r command; do
  echo "+ $command"
  command=${command//build\/zoo /\"$ZOO\" }
  command=${command//.\/scripts\//$ZOO_SOURCE_DIR/scripts/}
  bash -c "$command" > /dev/null 2> err.txt < /dev/null || { cat err.txt; fail "README command failed: $command"; }
done < commands.txt
jsonl_check labels.jsonl "len(records) > 50 and all('predictions' in r for r in records)"
echo ok
