info registers rip rsp
x/8xb $pc
stepi
stepi
info registers rip
x/4xg $sp
detach
