break *0x1de15900
break *0x1de15950
continue
info registers rip
continue
x/8xb 0x1de15900
stepi
stepi
info registers rip
delete
detach
