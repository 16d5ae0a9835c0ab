// vh5fs FILE MOUNTPOINT [-f] [-d] [-o OPT,...]: mounts a versioned HDF5 file.
#include "run.h"

int main(int argc, char** argv) { return vh5fs::Run(argc, argv); }
