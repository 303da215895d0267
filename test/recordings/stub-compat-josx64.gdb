info registers rip
x/16xb $pc
break *0x1de15950
continue
stepi
info registers rip
detach
