// The vh5fs daemon's whole life: parses the command line, opens FILE,
// mounts it and serves requests until unmounted. Its exit status.
#pragma once

namespace vh5fs {

int Run(int argc, char** argv);

}  // namespace vh5fs
