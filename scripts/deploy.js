// Deploy ProvenanceRegistry to the network given by --network (keys from the environment only).
//   SEPOLIA_RPC_URL=... SEPOLIA_PRIVATE_KEY=... npx hardhat run --network sepolia scripts/deploy.js
const hre = require("hardhat");

async function main() {
  if (hre.network.name === "sepolia" && !process.env.SEPOLIA_RPC_URL) {
    throw new Error("set SEPOLIA_RPC_URL (and SEPOLIA_PRIVATE_KEY) to deploy to Sepolia");
  }
  const [deployer] = await hre.ethers.getSigners();
  if (!deployer) {
    throw new Error(`no deployer account for network ${hre.network.name}: set SEPOLIA_PRIVATE_KEY`);
  }
  const factory = await hre.ethers.getContractFactory("ProvenanceRegistry");
  const registry = await factory.deploy();
  await registry.waitForDeployment();
  const { chainId } = await hre.ethers.provider.getNetwork();
  console.log(`ProvenanceRegistry ${await registry.version()} deployed at ${await registry.getAddress()}`);
  console.log(`chain id ${chainId}, deployer ${deployer.address}`);
  console.log(`use it with: provenance --rpc-url <URL> --registry ${await registry.getAddress()} ...`);
}

main().catch((error) => {
  console.error(error.message || error);
  process.exitCode = 1;
});
