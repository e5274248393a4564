// Node entry point for datasets: loaders that find torchvision-layout files on disk (the readers that
// parse bytes, which run in browsers too, are in ./index.ts and the package root).
export {
  loadMNIST,
  loadFashionMNIST,
  loadCIFAR10,
  loadCIFAR100,
  loadSVHN,
  DEBIAN_FASHION_MNIST_DIR,
  type SplitOptions,
  type Cifar100LoadOptions,
  type SvhnLoadOptions,
} from './node-files.js';
