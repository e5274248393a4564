export { Classifier } from './classifier.js';
export { SimpleNN } from './simple-nn.js';
export { MnistCNN } from './mnist-cnn.js';
export { CifarCNN } from './cifar-cnn.js';
export { ReducedResNet18, BasicBlock } from './resnet.js';
export { ConvStackCNN, type ConvStackCNNOptions } from './conv-stack-cnn.js';
