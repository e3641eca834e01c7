// Hardhat 2 configuration: compiles offline with solc-js from node_modules.
//
// The machines this project is built on cannot download the native solc, so the
// compiler-download subtask is overridden to hand Hardhat the pinned `solc`
// npm package (solc-js). RPC URLs and keys come only from the environment.
require("@nomicfoundation/hardhat-chai-matchers");
require("@nomicfoundation/hardhat-ethers");
const path = require("path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");

const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    throw new Error(`only solc ${SOLC_VERSION} is available offline, not ${args.solcVersion}`);
  }
  const solcPkg = require("solc/package.json");
  return {
    compilerPath: path.join(__dirname, "node_modules", "solc", "soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solcPkg.version,
  };
});

const networks = {
  localhost: { url: process.env.PROVENANCE_RPC_URL || "http://127.0.0.1:8545" },
  // Sepolia: the RPC URL and the deployer's key come only from the environment.
  sepolia: {
    url: process.env.SEPOLIA_RPC_URL || "http://sepolia-rpc-url-not-set.invalid",
    accounts: process.env.SEPOLIA_PRIVATE_KEY ? [process.env.SEPOLIA_PRIVATE_KEY] : [],
    chainId: 11155111,
  },
};

module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      optimizer: { enabled: true, runs: 1000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "./contracts",
    tests: "./tests/contracts",
    cache: "./.hardhat/cache",
    artifacts: "./.hardhat/artifacts",
  },
  networks,
};
