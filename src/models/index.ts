export { Classifier } from './classifier.js';
export { SimpleNN } from './simple-nn.js';
export { MnistCNN } from './mnist-cnn.js';
export { CifarCNN } from './cifar-cnn.js';
export { ReducedResNet18, BasicBlock } from './resnet.js';
export { MobileNetV2, InvertedResidual, ConvBNReLU6, MOBILENET_V2_SMALL, MOBILENET_V2_IMAGENET, type MobileNetV2Options, type MobileNetV2Stage } from './mobilenet.js';
export { VisionTransformer, ViTEncoder, type VisionTransformerOptions } from './vit.js';
export { ConvStackCNN, type ConvStackCNNOptions } from './conv-stack-cnn.js';
