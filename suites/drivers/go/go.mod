module h1conform/drivers/go-net-http

go 1.19
