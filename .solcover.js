module.exports = {
  skipFiles: ["mocks/"],
  istanbulReporter: ["text", "json-summary", "html"],
  configureYulOptimizer: true,
};
