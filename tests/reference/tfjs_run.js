#!/usr/bin/env node
// Reference runner for TensorFlow.js graph models: runs a model with the
// pure-JS @tensorflow/tfjs package on its CPU backend, to compare the C++
// re-implementation against.
//
//   TFJS_DIR=build/tfjs node tests/reference/tfjs_run.js \
//       MODEL_JSON INPUT.npy OUT_PREFIX [NODE_NAME...]
//
// TFJS_DIR is the directory scripts/setup-tfjs.sh installed into.
// INPUT.npy: little-endian float32 or int32 (also accepted: float64, int64,
// uint8, int8, int16, uint16), C order, any shape; it becomes the model's
// single input, cast to the input's dtype (from the signature, else from the
// graph's Placeholder, else float32).
// NODE_NAMEs: what model.execute() accepts, e.g. `tower_0/detections`,
// `global_pooling/Mean`, `age_pred/Softmax:0` (a signature output key) or
// `some/node:1` (the second output of a node). Without any, all of the
// model's outputs (model.outputs) are written.
// Output i goes to OUT_PREFIX.<i>.npy as float32 (other dtypes are converted),
// and stdout gets one JSON line per output: {"name", "file", "shape"}.
// Timings and tfjs's own messages go to stderr.
'use strict';

const fs = require('fs');
const path = require('path');

const {fileHandler} = require(path.join(__dirname, '..', '..', 'scripts', 'tfjs_files.js'));

function die(msg) {
  process.stderr.write(`tfjs_run: ${msg}\n`);
  process.exit(1);
}

// ---- .npy ------------------------------------------------------------------

const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

// descr (without byte order) -> typed array constructor
const NPY_TYPES = {
  f4: Float32Array, i4: Int32Array, f8: Float64Array, i8: BigInt64Array,
  u1: Uint8Array, i1: Int8Array, i2: Int16Array, u2: Uint16Array,
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new Error(`${file}: not a .npy file`);
  }
  const major = buf[6];
  let headerLen, offset;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    offset = 10;
  } else if (major === 2 || major === 3) {
    headerLen = buf.readUInt32LE(8);
    offset = 12;
  } else {
    throw new Error(`${file}: unsupported .npy version ${major}`);
  }
  const header = buf.toString('latin1', offset, offset + headerLen);
  const dataStart = offset + headerLen;

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shapeM = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shapeM) {
    throw new Error(`${file}: cannot parse .npy header ${JSON.stringify(header)}`);
  }
  if (fortran[1] === 'True') {
    throw new Error(`${file}: Fortran-order arrays are not supported`);
  }
  const shape = shapeM[1].split(',').map(s => s.trim()).filter(s => s.length)
      .map(s => {
        const n = Number(s.replace(/L$/, ''));
        if (!Number.isInteger(n) || n < 0) throw new Error(`${file}: bad shape ${shapeM[1]}`);
        return n;
      });
  const order = descr[1][0];
  const kind = descr[1].slice(1);
  const Ctor = NPY_TYPES[kind];
  if (!Ctor || (order !== '<' && order !== '|' && order !== '=') ||
      (order === '|' && Ctor.BYTES_PER_ELEMENT > 1)) {
    throw new Error(`${file}: unsupported dtype '${descr[1]}' ` +
                    '(little-endian float32/int32 expected)');
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const nbytes = count * Ctor.BYTES_PER_ELEMENT;
  if (buf.length < dataStart + nbytes) {
    throw new Error(`${file}: truncated (${buf.length - dataStart} data bytes, ` +
                    `${nbytes} expected)`);
  }
  // Copy: the data need not be aligned for a typed array view.
  const bytes = new Uint8Array(nbytes);
  bytes.set(buf.subarray(dataStart, dataStart + nbytes));
  return {kind, shape, data: new Ctor(bytes.buffer)};
}

function writeNpyFloat32(file, shape, data) {
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  // magic(6) + version(2) + len(2) + header + '\n', padded to 64 bytes.
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  NPY_MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

// ---- model loading ---------------------------------------------------------

const TF_DTYPES = {DT_FLOAT: 'float32', DT_INT32: 'int32', DT_BOOL: 'bool'};

function inputDtype(modelJson, model) {
  const sigInputs = modelJson.signature && modelJson.signature.inputs;
  if (sigInputs) {
    const keys = Object.keys(sigInputs);
    if (keys.length === 1 && TF_DTYPES[sigInputs[keys[0]].dtype]) {
      return TF_DTYPES[sigInputs[keys[0]].dtype];
    }
  }
  return model.inputs[0].dtype || 'float32';
}

function toInputValues(npy, dtype) {
  const src = npy.data;
  if (dtype === 'float32') {
    if (src instanceof Float32Array) return src;
    if (src instanceof BigInt64Array) return Float32Array.from(src, Number);
    return Float32Array.from(src);
  }
  if (dtype === 'int32' || dtype === 'bool') {
    if (src instanceof Int32Array) return src;
    const out = new Int32Array(src.length);
    let nonIntegral = 0;
    for (let i = 0; i < src.length; i++) {
      const v = Number(src[i]);
      if (!Number.isInteger(v)) nonIntegral++;
      out[i] = v; // truncates toward zero, like numpy's astype(int32)
    }
    if (nonIntegral) {
      process.stderr.write(`tfjs_run: warning: ${nonIntegral} non-integral input ` +
                           `values truncated to ${dtype}\n`);
    }
    return out;
  }
  throw new Error(`unsupported model input dtype ${dtype}`);
}

// ---- main ------------------------------------------------------------------

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 3) {
    die('usage: node tfjs_run.js MODEL_JSON INPUT.npy OUT_PREFIX [NODE_NAME...]');
  }
  const [modelJsonPath, inputPath, outPrefix, ...nodeNames] = args;
  const tfjsDir = process.env.TFJS_DIR;
  if (!tfjsDir) die('TFJS_DIR is not set (the directory given to scripts/setup-tfjs.sh)');
  const tf = require(path.resolve(tfjsDir, 'node_modules', '@tensorflow', 'tfjs'));

  if (!(await tf.setBackend('cpu'))) die('cannot set the cpu backend');
  await tf.ready();
  if (tf.getBackend() !== 'cpu') die(`backend is ${tf.getBackend()}, not cpu`);

  const modelJson = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
  const npy = readNpy(inputPath);

  let t0 = process.hrtime.bigint();
  const model = await tf.loadGraphModel(fileHandler(modelJsonPath));
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (model.inputs.length !== 1) {
    die(`the model has ${model.inputs.length} inputs ` +
        `(${model.inputs.map(i => i.name).join(', ')}); exactly one is supported`);
  }

  const dtype = inputDtype(modelJson, model);
  const input = tf.tensor(toInputValues(npy, dtype), npy.shape, dtype);
  const outputs = nodeNames.length ? nodeNames : model.outputs.map(o => o.name);

  t0 = process.hrtime.bigint();
  let result;
  try {
    result = model.execute(input, outputs);
  } catch (e) {
    // Graphs with control flow or dynamic shapes (While, NonMaxSuppression,
    // Where, ...) only run through executeAsync.
    if (!/executeAsync/.test(String(e && e.message))) throw e;
    process.stderr.write(`tfjs_run: execute() refused (${e.message.split('\n')[0]}); ` +
                         'using executeAsync()\n');
    result = await model.executeAsync(input, outputs);
  }
  const tensors = Array.isArray(result) ? result : [result];
  // Reading the values forces the computation, so time up to here.
  const values = [];
  for (const t of tensors) values.push(await t.data());
  const execMs = Number(process.hrtime.bigint() - t0) / 1e6;

  if (tensors.length !== outputs.length) {
    die(`asked for ${outputs.length} outputs, got ${tensors.length}`);
  }
  const outDir = path.dirname(outPrefix);
  if (outDir) fs.mkdirSync(outDir, {recursive: true});
  tensors.forEach((t, i) => {
    if (t.dtype === 'string' || t.dtype === 'complex64') {
      die(`output ${outputs[i]} has dtype ${t.dtype}, which cannot be written as float32`);
    }
    const v = values[i];
    const f32 = v instanceof Float32Array ? v : Float32Array.from(v);
    const file = `${outPrefix}.${i}.npy`;
    writeNpyFloat32(file, t.shape, f32);
    process.stdout.write(JSON.stringify({name: outputs[i], file, shape: t.shape}) + '\n');
  });
  process.stderr.write(`tfjs_run: tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, ` +
                       `input ${dtype} [${npy.shape}], load ${loadMs.toFixed(1)} ms, ` +
                       `execute ${execMs.toFixed(1)} ms\n`);
}

main().catch(e => die(e && e.stack ? e.stack : String(e)));
