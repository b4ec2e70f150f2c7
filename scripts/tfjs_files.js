// A TensorFlow.js IO handler for a graph model on disk, shared by
// tests/reference/tfjs_run.js and scripts/bench/tfjs_bench.js: pure-JS
// @tensorflow/tfjs loads local files through any object whose load()
// returns the model's artifacts.
'use strict';

const fs = require('fs');
const path = require('path');

// Reads model.json and its weight shards (concatenated in manifest order).
function fileHandler(modelJsonPath) {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(modelJsonPath, 'utf8'));
      if (!json.modelTopology) throw new Error(`${modelJsonPath}: no modelTopology`);
      const dir = path.dirname(modelJsonPath);
      const weightSpecs = [];
      const shards = [];
      for (const group of json.weightsManifest || []) {
        weightSpecs.push(...group.weights);
        for (const p of group.paths) shards.push(fs.readFileSync(path.join(dir, p)));
      }
      const total = shards.reduce((n, b) => n + b.length, 0);
      const weightData = new Uint8Array(total);
      let at = 0;
      for (const b of shards) {
        weightData.set(b, at);
        at += b.length;
      }
      const artifacts = {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: weightData.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
      };
      for (const k of ['signature', 'userDefinedMetadata', 'modelInitializer',
                       'initializerSignature', 'trainingConfig']) {
        if (json[k] !== undefined) artifacts[k] = json[k];
      }
      return artifacts;
    },
  };
}

module.exports = {fileHandler};
