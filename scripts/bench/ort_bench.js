// ONNX Runtime's side of scripts/bench/ort.sh, on onnxruntime-node's CPU
// provider: all graph optimisations, THREADS intra-op threads, one
// inter-op thread, sequential execution.
//   node ort_bench.js MODEL.onnx bench BATCH SECONDS THREADS
//     runs one warm-up batch, then batches of fixed random input (the same
//     every run) for SECONDS (at least 3), and prints images/s: the images
//     over the time of the timed batches, as zoo bench counts them.
//   node ort_bench.js MODEL.onnx run INPUT.bin OUTPUT.bin SHAPE THREADS
//     runs INPUT.bin (float32, little-endian, SHAPE as N,C,H,W) once and
//     writes the output as float32 (the parity check).
// ORT_NODE_MODULES names the node_modules folder holding onnxruntime-node.
"use strict";
const fs = require("fs");
const path = require("path");

const ort = require(path.resolve(process.env.ORT_NODE_MODULES || "node_modules", "onnxruntime-node"));

async function session(model, threads) {
  return ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
  });
}

// The input's shape: [batch, channels, height, width] from the model's
// first input, with 224 for dimensions the graph leaves open.
function inputShape(s, batch) {
  const meta = s.inputMetadata && s.inputMetadata[0];
  const dims = meta && meta.shape ? meta.shape.map((d) => (typeof d === "number" && d > 0 ? d : 224)) : [0, 3, 224, 224];
  dims[0] = batch;
  return dims;
}

async function bench(model, batch, seconds, threads) {
  const s = await session(model, threads);
  const shape = inputShape(s, batch);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  let seed = 12345;  // a fixed LCG: the same input every run
  for (let i = 0; i < data.length; ++i) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = (seed / 4294967296) * 4 - 2;
  }
  const feeds = { [s.inputNames[0]]: new ort.Tensor("float32", data, shape) };
  await s.run(feeds);  // warm-up
  let images = 0;
  let spent = 0;
  let runs = 0;
  while (spent < seconds * 1000 || runs < 3) {
    const t0 = process.hrtime.bigint();
    await s.run(feeds);
    spent += Number(process.hrtime.bigint() - t0) / 1e6;
    images += batch;
    ++runs;
  }
  console.log(`${(images / (spent / 1000)).toFixed(2)} images/s (${runs} batches of ${batch})`);
}

async function run(model, input, output, shapeText, threads) {
  const s = await session(model, threads);
  const shape = shapeText.split(",").map(Number);
  const bytes = fs.readFileSync(input);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const result = await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", data, shape) });
  const out = result[s.outputNames[0]].data;
  fs.writeFileSync(output, Buffer.from(out.buffer, out.byteOffset, out.byteLength));
}

const [model, mode, ...rest] = process.argv.slice(2);
const main = mode === "bench" ? bench(model, Number(rest[0]), Number(rest[1]), Number(rest[2]))
                              : run(model, rest[0], rest[1], rest[2], Number(rest[3]));
main.catch((e) => {
  console.error(`ort_bench.js: ${model}: ${e.message || e}`);
  process.exit(1);
});
