break *0x1de15740
break *0x1de15790
continue
info registers rip
continue
x/8xb 0x1de15740
stepi
stepi
info registers rip
delete
detach
