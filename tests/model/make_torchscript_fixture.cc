// Writes a TorchScript classifier with N outputs: make_torchscript_fixture OUT.pt N
#include <cstdlib>
#include <iostream>

#include "torchscript_module.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_torchscript_fixture OUT.pt CLASSES\n";
    return 2;
  }
  MakeScriptClassifier(std::atoi(argv[2])).save(argv[1]);
  return 0;
}
