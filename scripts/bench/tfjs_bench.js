#!/usr/bin/env node
// Benchmark runner (not a test) for scripts/bench/tfjs.sh: a TensorFlow.js
// graph model over a list of images in Node, one image per call, the way a
// Node program would label photos with @tensorflow/tfjs.
//
//   TFJS_DIR=build/tfjs node scripts/bench/tfjs_bench.js \
//       MODEL_JSON BACKEND(cpu|wasm) SIZE INT(0|1) IMAGE_LIST_FILE [NODE_NAME...]
//
// IMAGE_LIST_FILE: one .npy per line, each an HxWx3 uint8 RGB image already
// decoded (Node has no JPEG decoder without more npm packages; tfjs.sh
// decodes and resizes with Python's cv2 and times that apart). An image not
// SIZE x SIZE is stretched to it here with tf.image.resizeBilinear.
// INT=1 feeds int32 0-255 (MoveNet), INT=0 float32 0-255 (CenterNet).
// NODE_NAMEs: the outputs to compute (default: the model's outputs).
// THREADS (default 2): what the wasm backend is asked for with
// setThreadsCount; the threads it really uses are reported (Node gets the
// single-threaded wasm binary in tfjs 4.22: WASM_HAS_MULTITHREAD_SUPPORT is
// false under Node). The cpu backend is pure JavaScript on one thread.
//
// The model is loaded once (not timed in the rate); then, per image: read the
// .npy, make the input tensor (resize, cast, add the batch axis), run the
// model and read every output back to JS (which forces the computation).
// stderr: a human-readable line with images/s; stdout: one JSON line.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const {fileHandler} = require(path.join(__dirname, '..', 'tfjs_files.js'));

function die(msg) {
  process.stderr.write(`tfjs_bench: ${msg}\n`);
  process.exit(1);
}

// A uint8 .npy (what tfjs.sh writes): {shape, data}.
function readNpyU8(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.readUInt32BE(0) !== 0x934e554d) throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const offset = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', offset, offset + headerLen);
  if (!/'descr'\s*:\s*'\|u1'/.test(header) || /'fortran_order'\s*:\s*True/.test(header)) {
    throw new Error(`${file}: a C-order uint8 array expected, header ${JSON.stringify(header)}`);
  }
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)[1].split(',')
      .map(s => s.trim()).filter(s => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const start = offset + headerLen;
  if (buf.length < start + count) throw new Error(`${file}: truncated`);
  return {shape, data: new Uint8Array(buf.buffer, buf.byteOffset + start, count)};
}

const ms = t0 => Number(process.hrtime.bigint() - t0) / 1e6;

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 5 || !['cpu', 'wasm'].includes(args[1]) || !['0', '1'].includes(args[3])) {
    die('usage: node tfjs_bench.js MODEL_JSON cpu|wasm SIZE 0|1 IMAGE_LIST_FILE [NODE_NAME...]');
  }
  const [modelJsonPath, backend, sizeArg, intArg, listFile, ...nodeNames] = args;
  const size = Number(sizeArg);
  const dtype = intArg === '1' ? 'int32' : 'float32';
  const tfjsDir = process.env.TFJS_DIR;
  if (!tfjsDir) die('TFJS_DIR is not set (the directory given to scripts/setup-tfjs.sh)');
  const tf = require(path.resolve(tfjsDir, 'node_modules', '@tensorflow', 'tfjs'));

  let threads = 1;
  let detail = 'pure JavaScript, 1 thread';
  if (backend === 'wasm') {
    const wasm = require(path.resolve(tfjsDir, 'node_modules', '@tensorflow', 'tfjs-backend-wasm'));
    const asked = Number(process.env.THREADS || 2);
    wasm.setThreadsCount(asked);
    if (!(await tf.setBackend('wasm'))) die('cannot set the wasm backend');
    await tf.ready();
    threads = wasm.getThreadsCount();
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    detail = `${simd ? 'SIMD' : 'no SIMD'}, ${mt ? 'multi-threaded' : 'single-threaded'} binary, ` +
             `asked for ${asked} threads, uses ${threads}`;
  } else {
    if (!(await tf.setBackend('cpu'))) die('cannot set the cpu backend');
    await tf.ready();
  }
  if (tf.getBackend() !== backend) die(`backend is ${tf.getBackend()}, not ${backend}`);

  const files = fs.readFileSync(listFile, 'utf8').split('\n').filter(l => l.trim().length);
  if (!files.length) die(`${listFile}: no images`);

  let t0 = process.hrtime.bigint();
  const model = await tf.loadGraphModel(fileHandler(modelJsonPath));
  const loadMs = ms(t0);
  const outputs = nodeNames.length ? nodeNames : model.outputs.map(o => o.name);

  let useAsync = false;
  const perImage = [];
  const tAll = process.hrtime.bigint();
  for (const file of files) {
    t0 = process.hrtime.bigint();
    const img = readNpyU8(file);
    if (img.shape.length !== 3 || img.shape[2] !== 3) die(`${file}: HxWx3 expected, got [${img.shape}]`);
    const input = tf.tidy(() => {
      let x = tf.tensor3d(dtype === 'int32' ? Int32Array.from(img.data) : Float32Array.from(img.data),
                          img.shape, dtype);
      if (img.shape[0] !== size || img.shape[1] !== size) {
        x = tf.image.resizeBilinear(x, [size, size]);
        if (dtype === 'int32') x = tf.cast(tf.round(x), 'int32');
      }
      return tf.expandDims(x, 0);
    });
    let result;
    if (!useAsync) {
      try {
        result = model.execute(input, outputs);
      } catch (e) {
        if (!/executeAsync/.test(String(e && e.message))) throw e;
        useAsync = true;
      }
    }
    if (useAsync) result = await model.executeAsync(input, outputs);
    const tensors = Array.isArray(result) ? result : [result];
    for (const t of tensors) await t.data();
    tf.dispose([input, ...tensors]);
    perImage.push(ms(t0));
  }
  const totalMs = ms(tAll);
  const n = files.length;
  const rate = n / (totalMs / 1000);
  const rss = process.memoryUsage().rss / 2 ** 20;
  process.stderr.write(
      `tfjs_bench: tfjs ${tf.version.tfjs} ${backend} (${detail}) on ${os.cpus().length} cores, ` +
      `${path.basename(modelJsonPath)} ${dtype} ${size}x${size}: model load ${loadMs.toFixed(0)} ms; ` +
      `${n} images in ${(totalMs / 1000).toFixed(2)} s = ${rate.toFixed(2)} images/s (model only: ` +
      `.npy read + input tensor + execute + outputs read back, decoding not included); ` +
      `first image ${perImage[0].toFixed(0)} ms${useAsync ? ', executeAsync' : ''}\n`);
  process.stdout.write(JSON.stringify({
    backend, tfjs: tf.version.tfjs, detail, threads, images: n, load_ms: loadMs, total_ms: totalMs,
    images_per_s: rate, first_ms: perImage[0], async: useAsync, rss_mib: rss,
  }) + '\n');
}

main().catch(e => die(e && e.stack ? e.stack : String(e)));
