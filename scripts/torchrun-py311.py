#!/usr/bin/env python3
# torchrun, as Debian 12 ships it (PyTorch 1.13), usable under Python 3.11: run it as torchrun.
# Debian's torchrun (PyTorch 1.13) under Python 3.11: Std.from_str returns None for "0" (the enum
# change of 3.11), which breaks its launcher before any worker starts. Parsing the two flags the
# way 1.13 meant to is all this changes.
import sys
import torch.distributed.elastic.multiprocessing.api as api
api.Std.from_str = classmethod(lambda cls, vm: cls(int(vm)) if vm.strip().isdigit() else {int(k): cls(int(v)) for k, v in (p.split(':') for p in vm.split(','))})
from torch.distributed.run import main
sys.argv[0] = 'torchrun'
main()
