break *0x1de15950
break *0x1de159a0
continue
info registers rip
continue
x/8xb 0x1de15950
stepi
stepi
info registers rip
delete
detach
